# Student for the GFL pair: mmdet's R50-FPN 1x. For an ImageNet-initialised backbone
# point it at a local file:
#   --cfg-options model.backbone.init_cfg.type=Pretrained \
#                 model.backbone.init_cfg.checkpoint=/path/to/resnet50.pth
_base_ = ['mmdet::gfl/gfl_r50_fpn_1x_coco.py', '../_base_/kd_runtime.py']
model = dict(backbone=dict(init_cfg=None))
