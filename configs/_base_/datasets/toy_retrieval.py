# Toy retrieval made by `python tools/make_toy_data.py retrieval --out data/toy_retrieval`:
# class-disjoint splits as in the CUB-200 protocol (first half of the classes train, the
# rest test), 64 px; lists `images/<class>/<file>.png <label>` read by CustomDataset.
# Pipelines and loaders as the toy classification base.
_base_ = ['./toy_cls.py']
data_root = 'data/toy_retrieval/'
data_preprocessor = dict(_delete_=True, mean=[127.5, 127.5, 127.5],
                         std=[63.75, 63.75, 63.75], to_rgb=True)
train_dataloader = dict(
    dataset=dict(data_root=data_root, ann_file='train.txt', data_prefix=''))
test_dataloader = dict(
    dataset=dict(data_root=data_root, ann_file='test.txt', data_prefix=''))
val_dataloader = test_dataloader
val_evaluator = None  # Recall@K / NMI metrics come with the retrieval method
test_evaluator = None
