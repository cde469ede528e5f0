# ResNet-34 (mmpretrain's ResNet_CIFAR: 3x3 stem, no max-pool) on CIFAR-10: the teacher of
# the data-free pair (M7, MMRazor's DAFL / DFAD). mmpretrain's recipe: batch 128, SGD
# lr 0.1, 200 epochs, lr x0.1 at epochs 100 and 150.
#   python tools/train.py configs/classifiers/resnet34_cifar10.py
_base_ = ['mmpretrain::_base_/models/resnet34_cifar.py', '../_base_/datasets/cifar10.py',
          'mmpretrain::_base_/schedules/cifar10_bs128.py',
          'mmpretrain::_base_/default_runtime.py', '../_base_/kd_runtime.py']
