# Toy retrieval data, made by
#   python tools/make_toy_data.py retrieval --out data/toy_retrieval
# class-disjoint splits as in the CUB-200 protocol, here three of them: train.txt,
# val.txt (model selection) and test.txt (reported numbers) share no class; 64 px (32 px
# in the protocol v2 benchmark), lists `images/<class>/<file>.png <label>` read by
# kd_plugins' RetrievalListDataset (which checks a list against its other_ann_file: no
# class in both). Training batches are P classes x K samples (ClassBalancedSampler): the
# pair losses need positives.
# Evaluation: Recall@1/2/4/8 (cosine, query left out of its gallery) and NMI on the
# held-out classes.
dataset_type = 'RetrievalListDataset'
data_root = 'data/toy_retrieval/'
data_preprocessor = dict(mean=[127.5, 127.5, 127.5], std=[63.75, 63.75, 63.75],
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
samples_per_class = 4
train_batch_size = 8 * samples_per_class  # 8 distinct classes x 4 images
train_dataloader = dict(
    batch_size=train_batch_size,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='ClassBalancedSampler', samples_per_class=samples_per_class,
                 batch_size=train_batch_size),
    dataset=dict(type=dataset_type, data_root=data_root, ann_file='train.txt',
                 other_ann_file='test.txt', pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=64,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root, ann_file='val.txt',
                 other_ann_file='train.txt', pipeline=test_pipeline))
test_dataloader = dict(val_dataloader,
                       dataset=dict(val_dataloader['dataset'], ann_file='test.txt'))
# NMI's k-means by faiss (k-means++, 3 runs); 'torch': the project's own (no faiss)
val_evaluator = dict(type='EmbeddingRecallNMI', topk=(1, 2, 4, 8), distance='cosine',
                     nmi_backend='faiss')
test_evaluator = val_evaluator
