# Teacher for the RTMDet pair: mmdet's RTMDet-s, offline. Its ImageNet CSPNeXt init is
# off (nothing downloads); a trained teacher comes from teacher_ckpt.
_base_ = ['mmdet::rtmdet/rtmdet_s_8xb32-300e_coco.py', '../_base_/kd_runtime.py']
checkpoint = None  # mmdet's ImageNet CSPNeXt URL: nothing downloads here
model = dict(backbone=dict(init_cfg=None))
