# resnet8 at half width (8 / 16 / 32 channels) with a 128-d embedding on the toy retrieval
# data: the toy student of M8; trained alone, the no-KD row of its benchmark.
_base_ = ['../_base_/models/toy_retrieval_embedders.py',
          '../_base_/datasets/toy_retrieval.py', '../_base_/schedules/toy_retrieval.py',
          'mmpretrain::_base_/default_runtime.py', '../_base_/kd_runtime.py']
model = _base_.toy_metric_student
default_hooks = dict(checkpoint=dict(interval=10, max_keep_ckpts=2))
