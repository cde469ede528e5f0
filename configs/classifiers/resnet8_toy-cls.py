# resnet8 on the toy classification data: the toy student of M5 / M7 without KD.
_base_ = ['../_base_/models/toy_cls_resnet8.py', '../_base_/datasets/toy_cls.py',
          '../_base_/schedules/toy_cls_30e.py', 'mmpretrain::_base_/default_runtime.py',
          '../_base_/kd_runtime.py']
model = _base_.toy_cls_student
