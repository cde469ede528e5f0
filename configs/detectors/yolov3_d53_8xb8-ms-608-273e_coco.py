# Teacher for the YOLOv3 pairs on COCO: mmdet's YOLOv3 Darknet-53, multi-scale 320-608 px,
# 273 epochs, offline: its Darknet-53 ImageNet init (open-mmlab://darknet53) is off, so
# nothing downloads; a trained teacher comes from teacher_ckpt. Its data_preprocessor
# normalises with mean 0 / std 255 (the MobileNetV2 student uses ImageNet mean / std);
# PreprocessAwareDistill runs each model's own preprocessor on the same raw batch.
# Neck outputs (strides 32/16/8): 512/256/128 channels; backbone out_indices (3, 4, 5)
# (strides 8/16/32): 256/512/1024 channels.
_base_ = ['mmdet::yolo/yolov3_d53_8xb8-ms-608-273e_coco.py', '../_base_/kd_runtime.py']
model = dict(backbone=dict(init_cfg=None))
