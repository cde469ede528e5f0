# mmseg's DeepLabV3 and PSPNet on a dilated ResNetV1c-101 (output stride 8) as named
# variables, for configs that hold several segmentors (a config can inherit only one
# mmseg model base: they all define `model`, `norm_cfg` and `data_preprocessor`).
#
#   deeplabv3_r101_d8   the model of mmseg::deeplabv3/deeplabv3_r101-d8_4xb2-80k_
#                       cityscapes-512x1024.py (ASPPHead, FCN auxiliary head on stage 3)
#   pspnet_r101_d8      the model of mmseg::pspnet/pspnet_r101-d8_4xb2-80k_
#                       cityscapes-512x1024.py (PSPHead, the same auxiliary head)
#
# Written out from mmseg::_base_/models/deeplabv3_r50-d8.py and pspnet_r50-d8.py with
# depth 101, module for module, so mmseg's Cityscapes checkpoints of those configs load
# as they are; 19 classes (another dataset overrides both heads' num_classes). Two
# differences: `pretrained=None` (mmseg names 'open-mmlab://resnet101_v1c', a download at
# run time; a teacher takes all its weights from its local checkpoint) and no crop size
# in the data preprocessor (the config that trains sets it).
r101_d8_norm_cfg = dict(type='SyncBN', requires_grad=True)
deeplabv3_r101_d8 = dict(
    type='EncoderDecoder',
    data_preprocessor=dict(
        type='SegDataPreProcessor', mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375], bgr_to_rgb=True, pad_val=0, seg_pad_val=255),
    pretrained=None,
    backbone=dict(
        type='ResNetV1c', depth=101, num_stages=4, out_indices=(0, 1, 2, 3),
        dilations=(1, 1, 2, 4), strides=(1, 2, 1, 1), norm_cfg=r101_d8_norm_cfg,
        norm_eval=False, style='pytorch', contract_dilation=True),
    decode_head=dict(
        type='ASPPHead', in_channels=2048, in_index=3, channels=512,
        dilations=(1, 12, 24, 36), dropout_ratio=0.1, num_classes=19,
        norm_cfg=r101_d8_norm_cfg, align_corners=False,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    auxiliary_head=dict(
        type='FCNHead', in_channels=1024, in_index=2, channels=256, num_convs=1,
        concat_input=False, dropout_ratio=0.1, num_classes=19,
        norm_cfg=r101_d8_norm_cfg, align_corners=False,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=0.4)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
pspnet_r101_d8 = dict(
    deeplabv3_r101_d8,
    decode_head=dict(
        type='PSPHead', in_channels=2048, in_index=3, channels=512,
        pool_scales=(1, 2, 3, 6), dropout_ratio=0.1, num_classes=19,
        norm_cfg=r101_d8_norm_cfg, align_corners=False,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)))
