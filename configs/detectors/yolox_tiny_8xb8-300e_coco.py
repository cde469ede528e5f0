# Student for the YOLOX pair: mmdet's YOLOX-tiny (trained from scratch in mmdet too).
_base_ = ['mmdet::yolox/yolox_tiny_8xb8-300e_coco.py', '../_base_/kd_runtime.py']
