# The 224 px deep-metric-learning recipe shared by the CUB-200 / Cars196 / SOP bases:
# ImageNet normalisation (the backbones start from ImageNet weights), random resized
# crops + flips for training, shorter side 256 + centre crop 224 for testing, P x K
# training batches (ClassBalancedSampler: the pair loss needs positives), Recall@1/2/4/8
# (cosine) and NMI. A dataset base sets the dataset `type` and `data_root` on top.
data_preprocessor = dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375],
                         to_rgb=True)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    # mmpretrain's name for torchvision's `scale` is crop_ratio_range
    dict(type='RandomResizedCrop', scale=224, crop_ratio_range=(0.16, 1.0)),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeEdge', scale=256, edge='short'),
    dict(type='CenterCrop', crop_size=224),
    dict(type='PackInputs'),
]
samples_per_class = 4
train_batch_size = 64  # per GPU: 16 distinct classes x 4 images
train_dataloader = dict(
    batch_size=train_batch_size,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='ClassBalancedSampler', samples_per_class=samples_per_class,
                 batch_size=train_batch_size),
    dataset=dict(split='train', pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=128,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(split='test', pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='EmbeddingRecallNMI', topk=(1, 2, 4, 8), distance='cosine',
                     nmi=True, nmi_backend='faiss')
test_evaluator = val_evaluator
