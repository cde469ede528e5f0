# WRN-16-2 with a 512-d embedding on the toy retrieval data: the toy teacher of M8, and
# trained alone the teacher row of its benchmark.
#   python tools/make_toy_data.py retrieval --out data/toy_retrieval
#   python tools/train.py configs/metric_embedders/wrn-16-2-512d_toy-retrieval.py
_base_ = ['../_base_/models/toy_retrieval_embedders.py',
          '../_base_/datasets/toy_retrieval.py', '../_base_/schedules/toy_retrieval.py',
          'mmpretrain::_base_/default_runtime.py', '../_base_/kd_runtime.py']
model = _base_.toy_metric_teacher
default_hooks = dict(checkpoint=dict(interval=10, max_keep_ckpts=2))
