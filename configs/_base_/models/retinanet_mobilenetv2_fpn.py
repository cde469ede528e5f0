# RetinaNet with a MobileNetV2 backbone and a three-level FPN (strides 8 / 16 / 32),
# model only, so dataset and schedule bases can be combined with it. Sized for the 160 px
# toy detection data (objects 16-64 px); offline: no pretrained backbone. GroupNorm in
# the head's stacked convs, as for a head trained from scratch (mmdet's FCOS / ATSS
# heads use it too).
data_preprocessor = dict(
    type='DetDataPreprocessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_size_divisor=32)
model = dict(
    type='RetinaNet',
    data_preprocessor=data_preprocessor,
    backbone=dict(
        type='MobileNetV2',
        widen_factor=1.0,
        out_indices=(2, 4, 6),  # strides 8, 16, 32
        init_cfg=None),
    neck=dict(
        type='FPN',
        in_channels=[32, 96, 320],
        out_channels=64,
        start_level=0,
        num_outs=3),
    bbox_head=dict(
        type='RetinaHead',
        num_classes=80,
        in_channels=64,
        stacked_convs=2,
        feat_channels=64,
        norm_cfg=dict(type='GN', num_groups=8, requires_grad=True),
        # nine anchors per location (three sizes x three ratios, mmdet's RetinaNet):
        # 16-25 px at stride 8 up to 64-102 px at stride 32
        anchor_generator=dict(
            type='AnchorGenerator',
            octave_base_scale=2,
            scales_per_octave=3,
            ratios=[0.5, 1.0, 2.0],
            strides=[8, 16, 32]),
        bbox_coder=dict(
            type='DeltaXYWHBBoxCoder',
            target_means=[0.0, 0.0, 0.0, 0.0],
            target_stds=[1.0, 1.0, 1.0, 1.0]),
        loss_cls=dict(type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25,
                      loss_weight=1.0),
        loss_bbox=dict(type='L1Loss', loss_weight=1.0)),
    train_cfg=dict(
        assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.5, neg_iou_thr=0.4,
                      min_pos_iou=0, ignore_iof_thr=-1),
        sampler=dict(type='PseudoSampler'),
        allowed_border=-1,
        pos_weight=-1,
        debug=False),
    test_cfg=dict(
        nms_pre=1000,
        min_bbox_size=0,
        score_thr=0.01,
        nms=dict(type='nms', iou_threshold=0.5),
        max_per_img=50))
