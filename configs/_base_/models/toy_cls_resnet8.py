# Toy classification student (10 classes, 32 px): resnet8, stage widths 16 / 32 / 64
# (half the toy teacher's, so channel selection has work to do). A named variable (not
# `model`): `architecture=_base_.toy_cls_student`.
toy_cls_student = dict(
    type='ImageClassifier',
    backbone=dict(type='CifarKDResNet', arch='resnet8'),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='LinearClsHead', num_classes=10, in_channels=64,
              loss=dict(type='CrossEntropyLoss', loss_weight=1.0), topk=(1, )))
