# CIFAR-100, as mmpretrain ships it (data/cifar100/, python pickle format, no download:
# place the extracted `cifar-100-python` folder there yourself).
_base_ = ['mmpretrain::_base_/datasets/cifar100_bs16.py']
