# Teacher for the RetinaNet pair: mmdet's R101-FPN 2x, offline. Its ImageNet backbone
# init is off (nothing downloads); a trained teacher comes from teacher_ckpt.
_base_ = ['mmdet::retinanet/retinanet_r101_fpn_2x_coco.py', '../_base_/kd_runtime.py']
model = dict(backbone=dict(init_cfg=None))
