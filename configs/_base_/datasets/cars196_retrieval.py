# Stanford Cars (Cars196) for deep metric learning (image retrieval), with kd_plugins'
# Cars196Retrieval. Get the "all images" release of Stanford Cars (car_ims.tgz, 16,185
# images, and its annotation file cars_annos.mat; e.g. from the original Stanford
# dataset page or one of its mirrors) and put both in data_root:
#   data/cars196/
#     cars_annos.mat     struct array `annotations` (relative_im_path, class, test,
#                        bbox_*) and `class_names`; needs scipy to read
#     car_ims/000001.jpg ... car_ims/016185.jpg
# The devkit's cars_train_annos.mat / cars_test_annos.mat (classification split) are not
# what is read. Class-disjoint split of the metric-learning protocol: classes 1-98 train
# (8,054 images), 99-196 test (8,131 images); the file's own `test` flag is ignored.
# Training batches are P classes x K images (ClassBalancedSampler): the pair loss needs
# positives. Evaluation: every test image queries all the others, Recall@1/2/4/8
# (cosine) and NMI.
dataset_type = 'Cars196Retrieval'
data_root = 'data/cars196/'
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
