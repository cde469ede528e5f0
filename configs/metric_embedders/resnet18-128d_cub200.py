# ResNet-18 with a 128-d embedding (ImageNet init) on CUB-200-2011,
# trained alone: the no-KD student row of the M8 benchmark.
# Data layout: configs/_base_/datasets/cub200_retrieval.py; ImageNet weights (a local
# file): configs/_base_/models/resnet50-512d_resnet18-128d_embedders.py.
#   tools/dist_train.sh THIS 4
#   mim train kd_plugins THIS --launcher pytorch --gpus 4
#   tools/dist_test.sh THIS work_dirs/<run>/epoch_N.pth 4
_base_ = ['../_base_/models/resnet50-512d_resnet18-128d_embedders.py',
          '../_base_/datasets/cub200_retrieval.py',
          '../_base_/schedules/metric_learning_adamw.py', '../_base_/kd_runtime.py']
model = _base_.r18_metric_student
