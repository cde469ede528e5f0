# Toy classification made by `python tools/make_toy_data.py cls --out data/toy_cls`:
# 10 shape/texture classes, 32 px, mmpretrain CustomDataset folders (train/<class>/...);
# disjoint train / val (model selection) / test (reported numbers) folders.
dataset_type = 'CustomDataset'
data_root = 'data/toy_cls/'
data_preprocessor = dict(
    num_classes=10,
    mean=[127.5, 127.5, 127.5],
    std=[63.75, 63.75, 63.75],
    to_rgb=True)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='PackInputs'),
]
train_dataloader = dict(
    batch_size=32,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type=dataset_type, data_root=data_root, data_prefix='train',
                 with_label=True, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=64,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root, data_prefix='val',
                 with_label=True, pipeline=test_pipeline))
test_dataloader = dict(val_dataloader,
                       dataset=dict(val_dataloader['dataset'], data_prefix='test'))
val_evaluator = dict(type='Accuracy', topk=(1, ))
test_evaluator = val_evaluator
