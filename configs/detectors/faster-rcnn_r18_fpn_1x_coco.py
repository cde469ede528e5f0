# Student for the Faster R-CNN R101 -> R18 pair: mmdet's R50-FPN 1x with a ResNet-18
# backbone (BasicBlock stages of 64/128/256/512 channels into the FPN, which still
# outputs 256 channels on five levels, like the R101 teacher). For an
# ImageNet-initialised backbone point it at a local file:
#   --cfg-options model.backbone.init_cfg.type=Pretrained \
#                 model.backbone.init_cfg.checkpoint=/path/to/resnet18.pth
_base_ = ['./faster-rcnn_r50_fpn_1x_coco.py']
model = dict(
    backbone=dict(depth=18, init_cfg=None),
    neck=dict(in_channels=[64, 128, 256, 512]))
