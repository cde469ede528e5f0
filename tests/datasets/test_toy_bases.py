"""The toy dataset bases of configs/_base_/datasets load the generator's output: train,
val and test loaders each read their own split."""
import os.path as osp

import pytest
from mmengine.config import Config

from conftest import CONFIGS


def build_dataset(base, scope, split_key, data_root):
    from mmengine.registry import DATASETS, init_default_scope
    init_default_scope(scope)
    cfg = Config.fromfile(osp.join(CONFIGS, '_base_', 'datasets', base))
    ds_cfg = cfg[split_key].dataset
    ds_cfg.data_root = data_root
    return DATASETS.build(ds_cfg)


# expected sizes: (train, val, test)
@pytest.mark.parametrize('kind,base,scope,maker,kwargs,expect', [
    ('seg', 'toy_seg.py', 'mmseg', 'make_seg', dict(num_train=4, num_val=2, num_test=3),
     (4, 2, 3)),
    ('cls', 'toy_cls.py', 'mmpretrain', 'make_cls',
     dict(num_train_per_class=2, num_val_per_class=1, num_test_per_class=3),
     (20, 10, 30)),
    ('retrieval', 'toy_retrieval.py', 'mmpretrain', 'make_retrieval',
     dict(num_train_classes=3, num_val_classes=2, num_test_classes=4, imgs_per_class=2),
     (6, 4, 8)),
    ('det', 'toy_det.py', 'mmdet', 'make_det', dict(num_train=4, num_val=2, num_test=3),
     (4, 2, 3)),
])
def test_toy_base_loads_generated_data(tmp_path, kind, base, scope, maker, kwargs,
                                       expect):
    from kd_plugins.datasets import toy
    root = str(tmp_path / kind)
    getattr(toy, maker)(root, seed=0, img_size=32, **kwargs)
    sets = [build_dataset(base, scope, f'{split}_dataloader', root + '/')
            for split in ('train', 'val', 'test')]
    assert tuple(len(ds) for ds in sets) == expect
    paths = [{osp.relpath(ds.get_data_info(i)['img_path'], root) for i in range(len(ds))}
             for ds in sets]
    for split, got in zip(('train', 'val', 'test'), paths):
        if kind == 'retrieval':  # class folders: the split is in the list's labels
            continue
        assert all(split in p.split(osp.sep) for p in got), (split, sorted(got)[:3])
    assert not (paths[0] & paths[1] or paths[0] & paths[2] or paths[1] & paths[2])
    item = sets[2][0]
    assert 'inputs' in item and 'data_samples' in item
    if kind == 'seg':
        seg = item['data_samples'].gt_sem_seg.data
        assert set(seg.unique().tolist()) <= {0, 1, 2, 3}
    if kind == 'det':
        assert len(item['data_samples'].gt_instances) > 0
        cfg = Config.fromfile(osp.join(CONFIGS, '_base_', 'datasets', base))
        assert cfg.val_evaluator.ann_file.endswith('annotations/val.json')
        assert cfg.test_evaluator.ann_file.endswith('annotations/test.json')
    if kind == 'retrieval':
        labels = [set(ds.get_gt_labels().tolist()) for ds in sets]
        assert labels == [{0, 1, 2}, {3, 4}, {5, 6, 7, 8}]
