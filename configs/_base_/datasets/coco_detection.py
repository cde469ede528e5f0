# COCO 2017 detection, as mmdet ships it (data/coco/). Method configs inherit this name.
_base_ = ['mmdet::_base_/datasets/coco_detection.py']
