# Toy classification teacher (10 classes, 32 px): WRN-16-2, stage widths 32 / 64 / 128.
# A named variable (not `model`), so a distillation config can take teacher and student
# from two such bases: `teacher=_base_.toy_cls_teacher`.
toy_cls_teacher = dict(
    type='ImageClassifier',
    backbone=dict(type='WideResNet', depth=16, widen_factor=2),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='LinearClsHead', num_classes=10, in_channels=128,
              loss=dict(type='CrossEntropyLoss', loss_weight=1.0), topk=(1, )))
