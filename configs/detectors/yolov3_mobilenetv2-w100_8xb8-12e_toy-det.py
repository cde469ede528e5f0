# Toy teacher: YOLOv3 with a full-width MobileNetV2 (3.7 M params) at 160 px.
# Plain mmdet config: train with `mim train kd_plugins THIS` or tools/train.py,
# test with `mim test mmdet THIS --checkpoint CKPT`.
_base_ = [
    '../_base_/models/yolov3_mobilenetv2.py',
    '../_base_/datasets/toy_det.py',
    '../_base_/schedules/toy_det_12e.py',
    'mmdet::_base_/default_runtime.py',
    '../_base_/kd_runtime.py',
]
widen_factor = 1.0
neck_channels = [96, 96, 96]
model = dict(
    backbone=dict(widen_factor=widen_factor),
    neck=dict(in_channels=[320, 96, 32], out_channels=neck_channels),
    bbox_head=dict(
        num_classes=5,
        in_channels=neck_channels,
        out_channels=neck_channels,
        # mmdet's 320 px COCO anchors, halved for 160 px images
        anchor_generator=dict(
            base_sizes=[[(55, 31), (32, 55), (66, 66)],
                        [(9, 22), (26, 24), (15, 42)],
                        [(3, 4), (6, 9), (18, 10)]])),
    test_cfg=dict(score_thr=0.01, conf_thr=0.005, max_per_img=50))
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=20),
    checkpoint=dict(type='CheckpointHook', interval=4, max_keep_ckpts=1, save_last=True))
