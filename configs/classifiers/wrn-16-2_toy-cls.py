# WRN-16-2 on the toy classification data: the toy teacher of M5 / M7.
#   python tools/make_toy_data.py cls --out data/toy_cls
#   python tools/train.py configs/classifiers/wrn-16-2_toy-cls.py
_base_ = ['../_base_/models/toy_cls_wrn-16-2.py', '../_base_/datasets/toy_cls.py',
          '../_base_/schedules/toy_cls_30e.py', 'mmpretrain::_base_/default_runtime.py',
          '../_base_/kd_runtime.py']
model = _base_.toy_cls_teacher
