# Shared wiring of metric-learning distillation on the toy retrieval pair: teacher
# WRN-16-2 (512-d) -> student resnet8 (128-d), data, schedule, runtime. A method config
# sets `model` (type and terms) on top.
_base_ = ['../models/toy_retrieval_embedders.py', '../datasets/toy_retrieval.py',
          '../schedules/toy_retrieval.py', 'mmpretrain::_base_/default_runtime.py',
          '../kd_runtime.py']

teacher_ckpt = None  # local path; set with --teacher-ckpt or --cfg-options
model = dict(
    _scope_='mmrazor',
    data_preprocessor=dict(_base_.data_preprocessor,
                           type='mmpretrain.ClsDataPreprocessor'),
    architecture=_base_.toy_metric_student,
    teacher=_base_.toy_metric_teacher,
    teacher_ckpt=teacher_ckpt)
find_unused_parameters = True
default_hooks = dict(checkpoint=dict(interval=10, max_keep_ckpts=2))
