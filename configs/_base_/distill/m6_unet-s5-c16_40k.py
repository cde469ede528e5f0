# M6 wiring with a light UNet student on mmseg's UNet-S5-D16 recipes (40k iterations,
# SGD lr 0.01 poly, mmseg's default runtime): the retinal-vessel configs
# (configs/multi_teacher/m6_unet-s5-fcn-aspp-psp_unet-s5-c16_*) and the Synapse one.
#
#   unet_s5_d16_fcn     mmseg's UNet-S5-D16 + FCN head (mmseg::_base_/models/
#                       fcn_unet_s5-d16.py, 2 classes, ImageNet mean / std, SyncBN)
#   unet_s5_c16         the student: the same network at base width 16 instead of 64
#                       (decode head 16 channels, auxiliary head on the 32-channel stage;
#                       about 1/16 of the teacher's multiply-adds), from scratch like
#                       mmseg's UNets
#   model               M6 (m6_seg.py) with three teachers, named after their heads:
#                       fcn (UNet-S5 + FCNHead), deeplabv3 (ASPPHead), pspnet (PSPHead);
#                       a config sets each `model.teachers.<name>.model` and the data
#
# A config must also set the top-level `data_preprocessor = dict(size=CROP)` (and the
# student's): the Runner gives the algorithm the top-level one, mmseg's model base leaves
# it without a size, and mmseg's preprocessor then refuses training batches.
# The feature term reads each decode head's last feature map: 'decode_head.convs'
# (FCNHead) or 'decode_head.bottleneck' (ASPPHead, PSPHead), the student's
# 'decode_head.convs'. SyncBN as in mmseg (one process on CPU runs it as plain BN).
_base_ = ['mmseg::_base_/models/fcn_unet_s5-d16.py',
          'mmseg::_base_/schedules/schedule_40k.py', 'mmseg::_base_/default_runtime.py',
          '../kd_runtime.py', './m6_seg.py']
unet_s5_d16_fcn = _base_.model
unet_s5_c16 = dict(
    _base_.model,
    backbone=dict(_base_.model.backbone, base_channels=16),
    decode_head=dict(_base_.model.decode_head, in_channels=16, channels=16),
    auxiliary_head=dict(_base_.model.auxiliary_head, in_channels=32, channels=16))
model = dict(
    _base_.m6_model,
    _delete_=True,
    architecture=unet_s5_c16,
    teachers=dict(
        fcn=dict(ckpt_path=None, feature='decode_head.convs'),
        deeplabv3=dict(ckpt_path=None, feature='decode_head.bottleneck'),
        pspnet=dict(ckpt_path=None, feature='decode_head.bottleneck')),
    student_feature='decode_head.convs')
