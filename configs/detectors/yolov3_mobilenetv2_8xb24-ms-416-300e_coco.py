# Student for the YOLOv3 pairs on COCO: mmdet's YOLOv3 MobileNetV2, multi-scale 320-416
# px, 30 epochs of a 10x repeated COCO train set. Offline: its ImageNet init
# (open-mmlab://mmdet/mobilenet_v2) is off. For an ImageNet-initialised backbone point
# it at a local file:
#   --cfg-options model.backbone.init_cfg.type=Pretrained \
#                 model.backbone.init_cfg.checkpoint=/path/to/mobilenet_v2.pth
# (in a distillation config the student is model.architecture: prefix the keys with it).
# Neck outputs (strides 32/16/8): 96/96/96 channels; backbone out_indices (2, 4, 6)
# (strides 8/16/32): 32/96/320 channels.
_base_ = ['mmdet::yolo/yolov3_mobilenetv2_8xb24-ms-416-300e_coco.py',
          '../_base_/kd_runtime.py']
model = dict(backbone=dict(init_cfg=None))
