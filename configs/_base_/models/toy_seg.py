# Toy segmentation models (4 classes, 128 px toy medical data). Named variables, not
# `model`, so a distillation config can take several:
# `architecture=_base_.toy_seg_student`.
#
#   toy_seg_unet_teacher   UNet, 4 stages, base 32 channels + FCN head (a small "UNet-S5")
#   toy_seg_dlv3_teacher   DeepLabV3 (ASPP head) on a ResNetV1c-18, output stride 8
#   toy_seg_student        UNet, 4 stages, base 12 channels + FCN head (about 1/7 of the
#                          teacher UNet's multiply-adds; base 8 lost the cell or the
#                          vessel class on the 4-class data: issue 16's calibration)
# The teachers normalise differently (UNet teacher: pixels / 255; DeepLabV3 and the
# student: ImageNet mean / std), as independently trained models do; M6 feeds each
# teacher its own normalisation.
norm_cfg = dict(type='BN', requires_grad=True)
# size: the training crops of configs/_base_/datasets/toy_seg.py (test images are
# taken whole)
imagenet_preprocessor = dict(
    type='SegDataPreProcessor', mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375], bgr_to_rgb=True, pad_val=0, seg_pad_val=255,
    size=(64, 64))
unit_preprocessor = dict(
    type='SegDataPreProcessor', mean=[0., 0., 0.], std=[255., 255., 255.],
    bgr_to_rgb=True, pad_val=0, seg_pad_val=255, size=(64, 64))
# the thin vessel class weighted 3x, as thin-structure segmentation is trained: with
# plain cross-entropy it was learned late or never (no-KD UNet-8 and UNet-16 students:
# vessel IoU 0.00 and 0.02 on val after 800 iterations; UNet-16 with the weight: 0.83;
# issue 16's calibration runs, 2 CPU cores)
ce_loss = dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0,
               class_weight=[1.0, 1.0, 1.0, 3.0])
unet_backbone = dict(
    type='UNet', in_channels=3, base_channels=8, num_stages=4, strides=(1, 1, 1, 1),
    enc_num_convs=(2, 2, 2, 2), dec_num_convs=(2, 2, 2), downsamples=(True, True, True),
    enc_dilations=(1, 1, 1, 1), dec_dilations=(1, 1, 1), norm_cfg=norm_cfg,
    act_cfg=dict(type='ReLU'), upsample_cfg=dict(type='InterpConv'), norm_eval=False)
fcn_head = dict(
    type='FCNHead', in_channels=12, in_index=3, channels=16, num_convs=1,
    concat_input=False, dropout_ratio=0.1, num_classes=4, norm_cfg=norm_cfg,
    align_corners=False, loss_decode=ce_loss)

toy_seg_student = dict(
    type='EncoderDecoder',
    data_preprocessor=imagenet_preprocessor,
    backbone=dict(unet_backbone, base_channels=12),
    decode_head=fcn_head,
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))

toy_seg_unet_teacher = dict(
    type='EncoderDecoder',
    data_preprocessor=unit_preprocessor,
    backbone=dict(unet_backbone, base_channels=32),
    decode_head=dict(fcn_head, in_channels=32, channels=32),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))

toy_seg_dlv3_teacher = dict(
    type='EncoderDecoder',
    data_preprocessor=imagenet_preprocessor,
    backbone=dict(
        type='ResNetV1c', depth=18, num_stages=4, out_indices=(0, 1, 2, 3),
        dilations=(1, 1, 2, 4), strides=(1, 2, 1, 1), norm_cfg=norm_cfg,
        norm_eval=False, style='pytorch', contract_dilation=True),
    decode_head=dict(
        type='ASPPHead', in_channels=512, in_index=3, channels=64,
        dilations=(1, 4, 8, 12), dropout_ratio=0.1, num_classes=4, norm_cfg=norm_cfg,
        align_corners=False, loss_decode=ce_loss),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
