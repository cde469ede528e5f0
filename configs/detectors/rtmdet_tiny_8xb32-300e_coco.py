# Student for the RTMDet pair: mmdet's RTMDet-tiny. mmdet starts it from an ImageNet
# CSPNeXt-tiny; for that, point it at a local file:
#   --cfg-options model.backbone.init_cfg.type=Pretrained \
#                 model.backbone.init_cfg.prefix=backbone. \
#                 model.backbone.init_cfg.checkpoint=/path/to/cspnext-tiny_imagenet.pth
_base_ = ['mmdet::rtmdet/rtmdet_tiny_8xb32-300e_coco.py', '../_base_/kd_runtime.py']
checkpoint = None  # mmdet's ImageNet CSPNeXt URL: nothing downloads here
model = dict(backbone=dict(init_cfg=None))
