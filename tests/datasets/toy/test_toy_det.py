"""kd_plugins/datasets/toy/det.py: COCO detection with disjoint train / val / test."""
import json
import os.path as osp

import numpy as np
import pytest
from toy_helpers import png, tree, under

from kd_plugins.datasets import toy
from kd_plugins.datasets.toy import det


@pytest.fixture(scope='module')
def det_dirs(tmp_path_factory):
    base = tmp_path_factory.mktemp('det')
    kw = dict(num_train=6, num_val=3, num_test=4, img_size=96)
    return {
        'a': toy.make_det(base / 'a', seed=3, **kw),
        'b': toy.make_det(base / 'b', seed=3, **kw),
        'other_seed': toy.make_det(base / 'c', seed=4, **kw),
        'other_sizes': toy.make_det(base / 'd', seed=3, num_train=4, num_val=3,
                                    num_test=2, img_size=96),
    }


def test_det_deterministic_and_splits_disjoint(det_dirs):
    a = tree(det_dirs['a']['out_dir'])
    b = tree(det_dirs['b']['out_dir'])
    assert len(a) == 6 + 3 + 4 + 3 + 1
    assert a == b
    c = tree(det_dirs['other_seed']['out_dir'])
    assert a.keys() == c.keys()
    assert a['annotations/test.json'] != c['annotations/test.json']
    assert all(a[k] != c[k] for k in a if k.endswith('.png'))
    # every image of one split differs from every image of the others
    splits = {s: set(under(a, f'{s}/').values()) for s in ('train', 'val', 'test')}
    assert len(splits['val']) == 3 and len(splits['test']) == 4
    assert not splits['train'] & splits['val']
    assert not splits['train'] & splits['test']
    assert not splits['val'] & splits['test']
    # a split's images do not depend on the sizes of the other splits
    d = tree(det_dirs['other_sizes']['out_dir'])
    for k in a:
        if k.startswith('val/') or k == 'annotations/val.json':
            assert a[k] == d[k], k
    for k in ('train/000003.png', 'test/000001.png'):
        assert a[k] == d[k]
    assert 'test/000002.png' not in d and 'train/000004.png' not in d


def test_det_coco_format(det_dirs):
    res = det_dirs['a']
    for split, num in (('train', 6), ('val', 3), ('test', 4)):
        assert res[split]['num_images'] == num
        assert res[f'{split}_ann_file'] == osp.join(res['out_dir'], 'annotations',
                                                    f'{split}.json')
        with open(res[f'{split}_ann_file']) as f:
            coco = json.load(f)
        assert coco['info']['version'] == str(toy.FORMAT_VERSION) == '2'
        assert [c['id'] for c in coco['categories']] == [1, 2, 3, 4, 5]
        assert tuple(c['name'] for c in coco['categories']) == toy.DET_CLASSES
        assert len(coco['images']) == num
        assert [im['file_name'] for im in coco['images']] == \
            [f'{i:06d}.png' for i in range(num)]
        ann_ids = [a['id'] for a in coco['annotations']]
        assert len(set(ann_ids)) == len(ann_ids) and min(ann_ids) >= 1
        assert len(coco['annotations']) == res[split]['num_annotations']
        images = {im['id']: im for im in coco['images']}
        per_image = {i: 0 for i in images}
        for a in coco['annotations']:
            im = images[a['image_id']]
            x, y, w, h = a['bbox']
            assert all(isinstance(v, float) for v in a['bbox'])
            assert w > 0 and h > 0 and x >= 0 and y >= 0
            assert x + w <= im['width'] and y + h <= im['height']
            assert 1 <= a['category_id'] <= 5 and a['iscrowd'] == 0
            assert 0 < a['area'] <= w * h
            assert [float(int(v)) for v in a['bbox']] == a['bbox']
            per_image[a['image_id']] += 1
        assert min(per_image.values()) >= 1  # every image is annotated
        for im in coco['images']:
            arr = png(osp.join(res[f'{split}_img_dir'], im['file_name']))
            assert arr.shape == (im['height'], im['width'], 3)
            assert arr.dtype == np.uint8
    stats = res['train']
    assert stats['num_annotations'] == sum(stats['per_class'].values())


def test_det_box_rule_constant():
    assert det.DET_MIN_VISIBLE_FRACTION == toy.DET_MIN_VISIBLE_FRACTION == 0.3


def test_det_argument_checks(tmp_path):
    with pytest.raises(ValueError, match='img_size'):
        toy.make_det(tmp_path / 'x', num_train=1, num_val=1, num_test=1, img_size=16)
    with pytest.raises(ValueError, match='num_train'):
        toy.make_det(tmp_path / 'x', num_train=0, num_val=1, num_test=1)
    with pytest.raises(ValueError, match='num_test must be >= 1, got 0'):
        toy.make_det(tmp_path / 'x', num_train=1, num_val=1, num_test=0)
    with pytest.raises(ValueError, match='num_test must be an integer'):
        toy.make_det(tmp_path / 'x', num_train=1, num_val=1, num_test=2.5)
    assert not (tmp_path / 'x').exists()
