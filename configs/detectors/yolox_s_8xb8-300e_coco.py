# Teacher for the YOLOX pair: mmdet's YOLOX-s (trained from scratch in mmdet too).
_base_ = ['mmdet::yolox/yolox_s_8xb8-300e_coco.py', '../_base_/kd_runtime.py']
