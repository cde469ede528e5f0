# Shared wiring of metric-learning distillation on the real pair: teacher ResNet-50
# (512-d) -> student ResNet-18 (128-d), both from ImageNet weights (local files, see
# configs/_base_/models/resnet50-512d_resnet18-128d_embedders.py), the AdamW schedule and
# the runtime. No data: a method config adds one of configs/_base_/datasets/
# {cub200,cars196,sop}_retrieval.py and sets `model` (type and terms) on top.
_base_ = ['../models/resnet50-512d_resnet18-128d_embedders.py',
          '../schedules/metric_learning_adamw.py', '../kd_runtime.py']

teacher_ckpt = None  # local path; set with --teacher-ckpt or --cfg-options
model = dict(
    _scope_='mmrazor',
    # the ImageNet normalisation of the pretrained backbones (= every dataset base's
    # data_preprocessor), for the student and, inherited, the teacher
    data_preprocessor=dict(type='mmpretrain.ClsDataPreprocessor',
                           mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375],
                           to_rgb=True),
    architecture=_base_.r18_metric_student,
    teacher=_base_.r50_metric_teacher,
    teacher_ckpt=teacher_ckpt)
find_unused_parameters = True
