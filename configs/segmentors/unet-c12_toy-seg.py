# unet-c12, the light student, without KD on the toy segmentation data
# (configs/_base_/models/toy_seg.py: toy_seg_student).
_base_ = ['../_base_/models/toy_seg.py', '../_base_/datasets/toy_seg.py',
          '../_base_/schedules/toy_seg.py', 'mmseg::_base_/default_runtime.py',
          '../_base_/kd_runtime.py']
model = _base_.toy_seg_student
