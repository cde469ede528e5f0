# RTMDet's detector (CSPNeXt-PAFPN neck, RTMDetSepBNHead: per-level BN, shared convs,
# dynamic soft-label assignment, quality focal + GIoU losses) on a MobileNetV2 backbone,
# three levels (strides 8 / 16 / 32), model only. Sized for the 160 px toy detection
# data; offline: no pretrained backbone. exp_on_reg=False as in RTMDet-tiny / -s.
data_preprocessor = dict(
    type='DetDataPreprocessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_size_divisor=32)
model = dict(
    type='RTMDet',
    data_preprocessor=data_preprocessor,
    use_syncbn=False,
    backbone=dict(
        type='MobileNetV2',
        widen_factor=1.0,
        out_indices=(2, 4, 6),  # strides 8, 16, 32
        init_cfg=None),
    neck=dict(
        type='CSPNeXtPAFPN',
        in_channels=[32, 96, 320],
        out_channels=64,
        num_csp_blocks=1,
        expand_ratio=0.5,
        norm_cfg=dict(type='BN'),
        act_cfg=dict(type='SiLU', inplace=True)),
    bbox_head=dict(
        type='RTMDetSepBNHead',
        num_classes=80,
        in_channels=64,
        stacked_convs=2,
        feat_channels=64,
        anchor_generator=dict(type='MlvlPointGenerator', offset=0, strides=[8, 16, 32]),
        bbox_coder=dict(type='DistancePointBBoxCoder'),
        loss_cls=dict(type='QualityFocalLoss', use_sigmoid=True, beta=2.0,
                      loss_weight=1.0),
        loss_bbox=dict(type='GIoULoss', loss_weight=2.0),
        with_objectness=False,
        exp_on_reg=False,
        share_conv=True,
        pred_kernel_size=1,
        norm_cfg=dict(type='BN'),
        act_cfg=dict(type='SiLU', inplace=True)),
    train_cfg=dict(
        assigner=dict(type='DynamicSoftLabelAssigner', topk=13),
        allowed_border=-1,
        pos_weight=-1,
        debug=False),
    test_cfg=dict(
        nms_pre=1000,
        min_bbox_size=0,
        score_thr=0.01,
        nms=dict(type='nms', iou_threshold=0.65),
        max_per_img=50))
