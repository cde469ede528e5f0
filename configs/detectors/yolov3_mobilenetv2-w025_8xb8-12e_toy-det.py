# Toy student: YOLOv3 with a quarter-width MobileNetV2 and a narrow neck/head.
_base_ = ['./yolov3_mobilenetv2-w100_8xb8-12e_toy-det.py']
widen_factor = 0.25
neck_channels = [24, 24, 24]
model = dict(
    backbone=dict(widen_factor=widen_factor),
    # MobileNetV2 stages 3/5/7 at widen 0.25: 8, 24, 80 channels
    neck=dict(in_channels=[80, 24, 8], out_channels=neck_channels),
    bbox_head=dict(in_channels=neck_channels, out_channels=neck_channels))
