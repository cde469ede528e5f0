# Toy medical-like segmentation made by
# `python tools/make_toy_data.py seg --out data/toy_seg`: cells (1, touching), glands
# with thin boundaries (2) and branching vessels 1-3 px wide (3; thin like retinal
# vessels, next to darker look-alike fibres), 128 px; mmseg layout img_dir/ + ann_dir/,
# disjoint train / val (model selection) / test (reported numbers) splits.
dataset_type = 'BaseSegDataset'
data_root = 'data/toy_seg/'
metainfo = dict(classes=('background', 'cell', 'gland', 'vessel'),
                palette=[[0, 0, 0], [255, 0, 0], [0, 255, 0], [0, 0, 255]])
# training on random 64 px crops of the 128 px images (a quarter of the pixels per
# step: what lets a two-teacher distillation run fit 5 minutes on 2 cores); testing on
# whole images
crop_size = (64, 64)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs')
]
train_dataloader = dict(
    batch_size=8,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        metainfo=metainfo,
        img_suffix='.png',
        seg_map_suffix='.png',
        data_prefix=dict(img_path='img_dir/train', seg_map_path='ann_dir/train'),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        metainfo=metainfo,
        img_suffix='.png',
        seg_map_suffix='.png',
        data_prefix=dict(img_path='img_dir/val', seg_map_path='ann_dir/val'),
        pipeline=test_pipeline))
test_dataloader = dict(
    val_dataloader,
    dataset=dict(val_dataloader['dataset'],
                 data_prefix=dict(img_path='img_dir/test', seg_map_path='ann_dir/test')))
# mIoU + Dice from mmseg, boundary F-score within 2 px (kd_plugins' BoundaryFScore)
val_evaluator = [dict(type='IoUMetric', iou_metrics=['mIoU', 'mDice']),
                 dict(type='BoundaryFScore', tolerance=2)]
test_evaluator = val_evaluator
