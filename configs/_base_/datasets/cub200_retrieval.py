# CUB-200-2011 for deep metric learning (image retrieval), with kd_plugins'
# CUB200Retrieval. Get CUB_200_2011.tgz from the Caltech Vision Lab's CUB-200-2011 page
# and unpack it so that data_root holds the directory as distributed:
#   data/CUB_200_2011/
#     images.txt                 <image_id> <path under images/>
#     image_class_labels.txt     <image_id> <class_id 1..200>
#     classes.txt                <class_id> <name>            (names only, optional)
#     images/001.Black_footed_Albatross/*.jpg ...
# Class-disjoint split of the metric-learning protocol: classes 1-100 train (5,864
# images), 101-200 test (5,924 images); the official train_test_split.txt is a
# classification split and is not read. Training batches are P classes x K images
# (ClassBalancedSampler): the pair loss needs positives. Evaluation: every test image
# queries all the others, Recall@1/2/4/8 (cosine) and NMI.
dataset_type = 'CUB200Retrieval'
data_root = 'data/CUB_200_2011/'
# ImageNet mean / std in RGB: the backbones start from ImageNet weights
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
    dataset=dict(type=dataset_type, data_root=data_root, split='train',
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=128,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root, split='test',
                 pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='EmbeddingRecallNMI', topk=(1, 2, 4, 8), distance='cosine',
                     nmi=True)
test_evaluator = val_evaluator
