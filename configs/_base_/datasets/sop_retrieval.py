# Stanford Online Products (SOP) for deep metric learning (image retrieval), with
# kd_plugins' SOPRetrieval. Get Stanford_Online_Products.zip (the dataset of Song et al.,
# "Deep Metric Learning via Lifted Structured Feature Embedding", CVPR 2016, from its
# Stanford project page) and unpack it so that data_root holds:
#   data/Stanford_Online_Products/
#     Ebay_train.txt    header `image_id class_id super_class_id path`, then one line
#     Ebay_test.txt     per image, path relative to data_root
#     bicycle_final/ cabinet_final/ chair_final/ ... toaster_final/   (12 super classes)
# Class-disjoint split given by the two lists: 11,318 classes / 59,551 images train,
# 11,316 classes / 60,502 images test. Products have 2-12 images each, so a K=4 group
# of a small class repeats images (ClassBalancedSampler fills it up). Evaluation: every
# test image queries all the others, Recall@1/10/100/1000 (cosine; the standard SOP
# report).
dataset_type = 'SOPRetrieval'
data_root = 'data/Stanford_Online_Products/'
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
# nmi=False: NMI k-means over the 60,502 test embeddings into 11,316 clusters takes far
# longer than the recalls at every evaluation; set nmi=True (ideally with
# device='cuda') to compute it, e.g. once with tools/test.py at the end.
val_evaluator = dict(type='EmbeddingRecallNMI', topk=(1, 10, 100, 1000),
                     distance='cosine', nmi=False)
test_evaluator = val_evaluator
