# Shared wiring for the real YOLOv3 pair on COCO: teacher YOLOv3 Darknet-53
# (detectors/yolov3_d53_8xb8-ms-608-273e_coco.py) -> student YOLOv3 MobileNetV2
# (detectors/yolov3_mobilenetv2_8xb24-ms-416-300e_coco.py, whose data, schedule and
# top-level data_preprocessor this config keeps). The two detectors normalise differently
# (Darknet-53: mean 0 / std 255, MobileNetV2: ImageNet mean / std); PreprocessAwareDistill
# feeds each its own data_preprocessor's output. Neck recorders, connectors and loss
# names come from yolov3_d53_to_mbv2_neck.py; a method config sets
# `model.distiller.distill_losses` (and its extra recorders / mappings).
_base_ = ['../../detectors/yolov3_mobilenetv2_8xb24-ms-416-300e_coco.py',
          './yolov3_d53_to_mbv2_neck.py']

teacher_ckpt = None  # local path; set with --teacher-ckpt or --cfg-options
model = dict(
    _delete_=True,
    _scope_='mmrazor',
    type='PreprocessAwareDistill',
    architecture=_base_.model,
    teacher=dict(cfg_path='kd_plugins::detectors/yolov3_d53_8xb8-ms-608-273e_coco.py'),
    teacher_ckpt=teacher_ckpt,
    distiller=_base_.yolov3_d53_to_mbv2_distiller)
find_unused_parameters = True
