"""kd_plugins/datasets/toy/cls.py: mmpretrain folders with disjoint train / val / test."""
import os

import pytest
from toy_helpers import png, tree, under

from kd_plugins.datasets import toy


def test_cls_layout_determinism_and_disjoint_splits(tmp_path):
    kw = dict(num_train_per_class=2, num_val_per_class=1, num_test_per_class=2,
              img_size=16, seed=0)
    res = toy.make_cls(tmp_path / 'a', **kw)
    again = toy.make_cls(tmp_path / 'b', **kw)
    a = tree(res['out_dir'])
    assert a == tree(again['out_dir'])
    assert len(toy.CLS_CLASSES) == 10
    assert list(toy.CLS_CLASSES) == sorted(toy.CLS_CLASSES)
    with open(res['classes_file']) as f:
        assert f.read().split() == list(toy.CLS_CLASSES)
    for split, num in (('train', 2), ('val', 1), ('test', 2)):
        split_dir = tmp_path / 'a' / split
        assert res[f'{split}_dir'] == str(split_dir)
        assert res[split] == dict(num_images=10 * num, num_per_class=num)
        assert sorted(os.listdir(split_dir)) == list(toy.CLS_CLASSES)
        for name in toy.CLS_CLASSES:
            files = sorted(os.listdir(split_dir / name))
            assert files == [f'{i:06d}.png' for i in range(num)]
            assert png(split_dir / name / files[0]).shape == (16, 16, 3)
    imgs = {s: set(under(a, f'{s}/').values()) for s in ('train', 'val', 'test')}
    assert [len(imgs[s]) for s in ('train', 'val', 'test')] == [20, 10, 20]
    assert not imgs['train'] & imgs['test'] and not imgs['val'] & imgs['test']
    assert not imgs['train'] & imgs['val']
    # more test images leave train / val as they were
    more = tree(toy.make_cls(tmp_path / 'c', **dict(kw, num_test_per_class=3))['out_dir'])
    for k in a:
        if not k.startswith('test/') and k != 'meta.json':
            assert a[k] == more[k], k
    assert a['test/dots/000001.png'] == more['test/dots/000001.png']


def test_cls_argument_checks(tmp_path):
    with pytest.raises(ValueError, match='num_test_per_class must be >= 1'):
        toy.make_cls(tmp_path / 'x', num_test_per_class=0)
    assert not (tmp_path / 'x').exists()
