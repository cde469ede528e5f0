# Pascal VOC 07+12 detection, as mmdet ships it (data/VOCdevkit/).
_base_ = ['mmdet::_base_/datasets/voc0712.py']
