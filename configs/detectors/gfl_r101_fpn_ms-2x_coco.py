# Teacher for the GFL pair: mmdet's R101-FPN multi-scale 2x, offline. Its ImageNet
# backbone init is off (nothing downloads); a trained teacher comes from teacher_ckpt.
_base_ = ['mmdet::gfl/gfl_r101_fpn_ms-2x_coco.py', '../_base_/kd_runtime.py']
model = dict(backbone=dict(init_cfg=None))
