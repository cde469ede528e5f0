# Shared wiring for the Faster R-CNN pair R101-FPN 2x (teacher,
# detectors/faster-rcnn_r101_fpn_2x_coco.py) -> R50-FPN 1x (student,
# detectors/faster-rcnn_r50_fpn_1x_coco.py, whose data, schedule and top-level
# data_preprocessor this config keeps) on COCO. Both use ImageNet mean / std. FPN
# recorders and loss names come from faster-rcnn_r101_fpn_neck.py;
# `student_backbone_channels` / `teacher_backbone_channels` are the four ResNet stage
# widths, for methods that distil backbone levels. A method config sets
# `model.distiller.distill_losses`; its R18 variant inherits it and changes the student
# (ResNet-18 backbone, FPN in_channels, `student_backbone_channels`).
_base_ = ['../../detectors/faster-rcnn_r50_fpn_1x_coco.py',
          './faster-rcnn_r101_fpn_neck.py']

teacher_ckpt = None  # local path; set with --teacher-ckpt or --cfg-options
student_backbone_channels = _base_.resnet_backbone_channels['r50']
teacher_backbone_channels = _base_.resnet_backbone_channels['r101']
model = dict(
    _delete_=True,
    _scope_='mmrazor',
    type='PreprocessAwareDistill',
    architecture=_base_.model,
    teacher=dict(cfg_path='kd_plugins::detectors/faster-rcnn_r101_fpn_2x_coco.py'),
    teacher_ckpt=teacher_ckpt,
    distiller=_base_.frcnn_fpn_distiller)
find_unused_parameters = True
