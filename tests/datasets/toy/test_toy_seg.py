"""kd_plugins/datasets/toy/seg.py: mmseg segmentation with disjoint train / val / test."""
import os
import os.path as osp

import numpy as np
import pytest
from PIL import Image
from toy_helpers import tree, under

from kd_plugins.datasets import toy


@pytest.fixture(scope='module')
def seg_res(tmp_path_factory):
    base = tmp_path_factory.mktemp('seg')
    kw = dict(num_train=4, num_val=2, num_test=3)
    a = toy.make_seg(base / 'a', seed=1, **kw)
    b = toy.make_seg(base / 'b', seed=1, **kw)
    c = toy.make_seg(base / 'c', seed=2, **kw)
    d = toy.make_seg(base / 'd', seed=1, num_train=4, num_val=2, num_test=1)
    return a, b, c, d


def test_seg_layout_and_labels(seg_res):
    res = seg_res[0]
    root = res['out_dir']
    present = set()
    for split, num in (('train', 4), ('val', 2), ('test', 3)):
        assert res[f'{split}_img_dir'] == osp.join(root, 'img_dir', split)
        assert res[f'{split}_ann_dir'] == osp.join(root, 'ann_dir', split)
        assert res[split]['num_images'] == num
        imgs = sorted(os.listdir(res[f'{split}_img_dir']))
        anns = sorted(os.listdir(res[f'{split}_ann_dir']))
        assert imgs == anns and len(imgs) == num
        for name in imgs:
            im = Image.open(osp.join(res[f'{split}_img_dir'], name))
            lab = Image.open(osp.join(res[f'{split}_ann_dir'], name))
            assert im.mode == 'RGB' and lab.mode == 'L'
            assert im.size == lab.size == (128, 128)
            values = set(np.unique(np.asarray(lab)).tolist())
            assert values <= {0, 1, 2, 3}
            present |= values
    assert present == {0, 1, 2, 3}
    assert res['train']['num_touching_cell_pairs'] > 0
    assert res['classes'] == list(toy.SEG_CLASSES) == ['background', 'cell', 'gland',
                                                       'vessel']
    assert len(res['palette']) == 4
    for split in ('train', 'val', 'test'):
        assert list(res[split]['pixel_fraction']) == list(toy.SEG_CLASSES)
        assert res[split]['num_vessel_trees'] >= res[split]['num_images']
        assert 1.0 <= res[split]['mean_vessel_width_px'] <= 3.0


def test_seg_vessels_thin():
    """Class 3 is thin (1-3 px at 128 px: no vessel pixel has 4 vessel pixels on each
    side in a row or a column, away from crossings), 2-5 % of the pixels, and drawn by
    the same seed identically."""
    from kd_plugins.datasets.toy.common import _image_rng
    from kd_plugins.datasets.toy.seg import _seg_image
    frac, thick = [], []
    for idx in range(12):
        img, lab, info = _seg_image(_image_rng(0, 'seg', 'train', idx), 128)
        again = _seg_image(_image_rng(0, 'seg', 'train', idx), 128)
        assert (img == again[0]).all() and (lab == again[1]).all()
        assert img.shape == (128, 128, 3) and lab.shape == (128, 128)
        assert 1 <= info['vessel_trees'] <= 3
        v = lab == 3
        frac.append(v.mean())
        # vessel pixels inside a 5x5 all-vessel block: only where trees cross
        p = np.pad(v, 2)
        block = np.ones_like(v)
        for dy in range(5):
            for dx in range(5):
                block &= p[dy:dy + 128, dx:dx + 128]
        thick.append(block.sum() / max(v.sum(), 1))
    assert 0.02 <= float(np.mean(frac)) <= 0.05
    assert float(np.mean(thick)) < 0.01


def test_seg_vessels_never_thinner_than_the_minimum():
    """No stroke under VESSEL_MIN_WIDTH px (a 1-px blurred stroke has no placeable
    label), trunks up to 3 px, at 128 px and at 256 px (widths scale, the floor not)."""
    from kd_plugins.datasets.toy.seg import VESSEL_MIN_WIDTH, _vessel_tree
    for size in (128, 256):
        widths = np.concatenate([
            _vessel_tree(np.random.default_rng(i), size, size / 128)[0][:, 4:6].ravel()
            for i in range(20)])
        assert widths.min() >= VESSEL_MIN_WIDTH
        assert widths.min() < VESSEL_MIN_WIDTH + 0.5 * size / 128  # tapering reaches it
        assert widths.max() <= 3.0 * size / 128


def test_seg_content_tag_refuses_older_drawing(tmp_path):
    """Data drawn before the vessels (same arguments, no content tag) is not reused."""
    import json
    out = tmp_path / 'seg'
    kw = dict(num_train=1, num_val=1, num_test=1, img_size=32)
    toy.make_seg(out, **kw)
    meta_path = out / 'meta.json'
    meta = json.loads(meta_path.read_text())
    assert meta['args']['content'] == toy.seg.SEG_CONTENT
    del meta['args']['content']
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(ValueError, match='overwrite'):
        toy.make_seg(out, **kw)
    assert toy.make_seg(out, **kw, overwrite=True)['skipped'] is False


def test_seg_deterministic_and_splits_disjoint(seg_res):
    a, b, c, d = (tree(r['out_dir']) for r in seg_res)
    assert a == b
    assert a.keys() == c.keys()
    assert a['img_dir/test/000000.png'] != c['img_dir/test/000000.png']
    imgs = {s: set(under(a, f'img_dir/{s}/').values()) for s in ('train', 'val', 'test')}
    assert [len(imgs[s]) for s in ('train', 'val', 'test')] == [4, 2, 3]
    assert not imgs['train'] & imgs['val'] and not imgs['train'] & imgs['test']
    assert not imgs['val'] & imgs['test']
    # fewer test images leave train / val (and the first test image) as they were
    for k in a:
        if not k.startswith(('img_dir/test/', 'ann_dir/test/')) and k != 'meta.json':
            assert a[k] == d[k], k
    assert a['img_dir/test/000000.png'] == d['img_dir/test/000000.png']
    assert 'img_dir/test/000001.png' not in d


def test_seg_argument_checks(tmp_path):
    with pytest.raises(ValueError, match='num_test must be >= 1'):
        toy.make_seg(tmp_path / 'x', num_train=1, num_val=1, num_test=0)
    assert not (tmp_path / 'x').exists()
