# Toy student of the RetinaNet family: a quarter-width MobileNetV2 (stages of 8, 24, 80
# channels) with a 32-channel FPN and head.
_base_ = ['./retinanet_mobilenetv2-w100_fpn_8xb8-12e_toy-det.py']
widen_factor = 0.25
model = dict(
    backbone=dict(widen_factor=widen_factor),
    neck=dict(in_channels=[8, 24, 80], out_channels=32),
    bbox_head=dict(in_channels=32, feat_channels=32))
