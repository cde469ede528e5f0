# Shared wiring for classification distillation on the toy pair: teacher WRN-16-2
# (stage widths 32 / 64 / 128) -> student resnet8 (16 / 32 / 64), both backbones
# returning their three stage outputs (the heads read the last), the logits recorded on
# both sides. A method config sets `model.distiller` losses (or another algorithm type).
_base_ = ['../models/toy_cls_wrn-16-2.py', '../models/toy_cls_resnet8.py',
          '../datasets/toy_cls.py', '../schedules/toy_cls_30e.py',
          'mmpretrain::_base_/default_runtime.py', '../kd_runtime.py']

teacher_ckpt = None  # local path; set with --teacher-ckpt or --cfg-options
stage_outputs = dict(out_indices=(0, 1, 2))

model = dict(
    _scope_='mmrazor',
    type='PreprocessAwareDistill',
    data_preprocessor=dict(_base_.data_preprocessor, type='mmpretrain.ClsDataPreprocessor'),
    architecture=dict(_base_.toy_cls_student,
                      backbone=dict(_base_.toy_cls_student.backbone, **stage_outputs)),
    teacher=dict(_base_.toy_cls_teacher,
                 backbone=dict(_base_.toy_cls_teacher.backbone, **stage_outputs)),
    teacher_ckpt=teacher_ckpt,
    distiller=dict(
        type='ConfigurableDistiller',
        student_recorders=dict(
            logits=dict(type='ModuleOutputs', source='head.fc'),
            stages=dict(type='ModuleOutputs', source='backbone')),
        teacher_recorders=dict(
            logits=dict(type='ModuleOutputs', source='head.fc'),
            stages=dict(type='ModuleOutputs', source='backbone'))))
find_unused_parameters = True
