"""The toy dataset bases of configs/_base_/datasets load the generator's output."""
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


@pytest.mark.parametrize('kind,base,scope,maker,kwargs,expect', [
    ('seg', 'toy_seg.py', 'mmseg', 'make_seg', dict(num_train=6, num_val=2), 6),
    ('cls', 'toy_cls.py', 'mmpretrain', 'make_cls',
     dict(num_train_per_class=2, num_val_per_class=1), 20),
    ('retrieval', 'toy_retrieval.py', 'mmpretrain', 'make_retrieval',
     dict(num_classes=6, imgs_per_class=3), 9),
    ('det', 'toy_det.py', 'mmdet', 'make_det', dict(num_train=4, num_val=2), 4),
])
def test_toy_base_loads_generated_data(tmp_path, kind, base, scope, maker, kwargs,
                                       expect):
    from kd_plugins.datasets import toy_data
    root = str(tmp_path / kind)
    getattr(toy_data, maker)(root, seed=0, **kwargs)
    ds = build_dataset(base, scope, 'train_dataloader', root + '/')
    assert len(ds) == expect
    item = ds[0]
    assert 'inputs' in item and 'data_samples' in item
    if kind == 'seg':
        seg = item['data_samples'].gt_sem_seg.data
        assert set(seg.unique().tolist()) <= {0, 1, 2}
    if kind == 'det':
        assert len(item['data_samples'].gt_instances) > 0
