# M6 wiring on the toy segmentation data: two teachers (UNet-32, pixels / 255; DeepLabV3
# R18-D8, ImageNet mean / std) -> UNet-12 student. The equal-weight baseline and M6 share
# it and differ only in the loss settings.
_base_ = ['../models/toy_seg.py', '../datasets/toy_seg.py', '../schedules/toy_seg.py',
          'mmseg::_base_/default_runtime.py', '../kd_runtime.py']
model = dict(
    _scope_='mmrazor',
    type='BoundaryAwareMultiTeacherDistill',
    architecture=_base_.toy_seg_student,
    teachers=dict(
        unet=dict(model=_base_.toy_seg_unet_teacher, ckpt_path=None,
                  feature='decode_head.convs'),
        dlv3=dict(model=_base_.toy_seg_dlv3_teacher, ckpt_path=None,
                  feature='decode_head.bottleneck')),
    student_feature='decode_head.convs')
find_unused_parameters = True
