# ImageNet-1k, as mmpretrain ships it (data/imagenet/ with train/ val/ and meta/).
_base_ = ['mmpretrain::_base_/datasets/imagenet_bs32.py']
