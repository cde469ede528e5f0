# Cityscapes semantic segmentation, as mmseg ships it (data/cityscapes/).
_base_ = ['mmseg::_base_/datasets/cityscapes.py']
