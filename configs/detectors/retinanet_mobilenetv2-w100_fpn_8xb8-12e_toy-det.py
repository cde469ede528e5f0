# Toy teacher of the RetinaNet family: RetinaNet with a full-width MobileNetV2 and a
# 64-channel FPN at 160 px (issue 18: a toy row per head family, M2 on RetinaHead).
# Plain mmdet config: train with `mim train kd_plugins THIS` or tools/train.py,
# test with `mim test mmdet THIS --checkpoint CKPT`.
_base_ = [
    '../_base_/models/retinanet_mobilenetv2_fpn.py',
    '../_base_/datasets/toy_det.py',
    '../_base_/schedules/toy_det_12e.py',
    'mmdet::_base_/default_runtime.py',
    '../_base_/kd_runtime.py',
]
model = dict(bbox_head=dict(num_classes=5))
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=20),
    checkpoint=dict(type='CheckpointHook', interval=4, max_keep_ckpts=1, save_last=True))
