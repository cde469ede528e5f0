"""Tests for kd_plugins/datasets/toy_data.py and tools/make_toy_data.py."""
import importlib.util
import json
import os
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CLI = osp.join(REPO_ROOT, 'tools', 'make_toy_data.py')


def _load_toy_data():
    # Load the file directly: the generators need only numpy + Pillow, while
    # ``import kd_plugins`` pulls in (and registers) the whole OpenMMLab stack.
    path = osp.join(REPO_ROOT, 'kd_plugins', 'datasets', 'toy_data.py')
    spec = importlib.util.spec_from_file_location('_toy_data_under_test',
                                                  path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


toy = _load_toy_data()


def _tree(root):
    """{relative path: bytes} of every file below root."""
    out = {}
    for dirpath, _, files in os.walk(root):
        for f in files:
            p = osp.join(dirpath, f)
            with open(p, 'rb') as fh:
                out[osp.relpath(p, root).replace(os.sep, '/')] = fh.read()
    return out


def _png(path):
    return np.asarray(Image.open(path))


# ---------------------------------------------------------------- detection
@pytest.fixture(scope='module')
def det_dirs(tmp_path_factory):
    base = tmp_path_factory.mktemp('det')
    kw = dict(num_train=12, num_val=5, img_size=160)
    res = {
        'a': toy.make_det(base / 'a', seed=3, **kw),
        'b': toy.make_det(base / 'b', seed=3, **kw),
        'other_seed': toy.make_det(base / 'c', seed=4, **kw),
        'fewer_train': toy.make_det(base / 'd', seed=3, num_train=7,
                                    num_val=5, img_size=160),
    }
    return res


def test_det_deterministic(det_dirs):
    a = _tree(det_dirs['a']['out_dir'])
    b = _tree(det_dirs['b']['out_dir'])
    assert len(a) == 12 + 5 + 2 + 1
    assert a == b
    c = _tree(det_dirs['other_seed']['out_dir'])
    assert a.keys() == c.keys()
    assert a['annotations/train.json'] != c['annotations/train.json']
    assert all(a[k] != c[k] for k in a if k.endswith('.png'))
    # the validation split does not depend on the number of train images
    d = _tree(det_dirs['fewer_train']['out_dir'])
    for k in a:
        if k.startswith('val/') or k == 'annotations/val.json':
            assert a[k] == d[k], k
    assert a['train/000006.png'] == d['train/000006.png']
    # splits use independent random streams
    assert a['train/000000.png'] != a['val/000000.png']
    assert 'train/000007.png' not in d


def test_det_coco_format(det_dirs):
    res = det_dirs['a']
    for split, num in (('train', 12), ('val', 5)):
        ann_file = res[f'{split}_ann_file']
        with open(ann_file) as f:
            coco = json.load(f)
        assert [c['id'] for c in coco['categories']] == [1, 2, 3, 4, 5]
        assert tuple(c['name'] for c in coco['categories']) == \
            toy.DET_CLASSES
        assert len(coco['images']) == num
        assert len({im['id'] for im in coco['images']}) == num
        ann_ids = [a['id'] for a in coco['annotations']]
        assert len(set(ann_ids)) == len(ann_ids) and min(ann_ids) >= 1
        images = {im['id']: im for im in coco['images']}
        per_image = {i: 0 for i in images}
        classes, small = set(), 0
        for a in coco['annotations']:
            im = images[a['image_id']]
            x, y, w, h = a['bbox']
            assert all(isinstance(v, float) for v in a['bbox'])
            assert w > 0 and h > 0
            assert x >= 0 and y >= 0
            assert x + w <= im['width'] and y + h <= im['height']
            assert 1 <= a['category_id'] <= 5
            assert a['iscrowd'] == 0
            assert 0 < a['area'] <= w * h
            # boxes are pixel extents of the visible shape
            assert [float(int(v)) for v in a['bbox']] == a['bbox']
            classes.add(a['category_id'])
            small += a['area'] < 16 * 16
            per_image[a['image_id']] += 1
        assert min(per_image.values()) >= 1  # every image is annotated
        assert max(per_image.values()) <= 12
        assert len(classes) >= 3
        assert small >= 0.1 * len(coco['annotations'])
        for im in coco['images']:
            arr = _png(osp.join(res[f'{split}_img_dir'], im['file_name']))
            assert arr.shape == (im['height'], im['width'], 3)
            assert arr.dtype == np.uint8
        if split == 'train':
            assert len(coco['annotations']) >= 2 * num
            assert len(classes) == 5
    stats = res['train']
    assert stats['num_annotations'] == sum(stats['per_class'].values())


def test_det_loads_with_pycocotools_or_json(det_dirs):
    ann_file = det_dirs['a']['train_ann_file']
    try:
        from pycocotools.coco import COCO
    except ImportError:
        with open(ann_file) as f:
            data = json.load(f)
        assert {'images', 'annotations', 'categories'} <= set(data)
        return
    coco = COCO(ann_file)
    assert sorted(coco.getCatIds()) == [1, 2, 3, 4, 5]
    assert len(coco.getImgIds()) == 12
    assert all(coco.getAnnIds(imgIds=[i]) for i in coco.getImgIds())


def test_det_argument_checks(tmp_path):
    with pytest.raises(ValueError, match='img_size'):
        toy.make_det(tmp_path / 'x', num_train=1, num_val=1, img_size=16)
    with pytest.raises(ValueError, match='num_train'):
        toy.make_det(tmp_path / 'x', num_train=0, num_val=1)
    assert not (tmp_path / 'x').exists()


# ------------------------------------------------------------- segmentation
@pytest.fixture(scope='module')
def seg_res(tmp_path_factory):
    base = tmp_path_factory.mktemp('seg')
    a = toy.make_seg(base / 'a', num_train=8, num_val=3, seed=1)
    b = toy.make_seg(base / 'b', num_train=8, num_val=3, seed=1)
    c = toy.make_seg(base / 'c', num_train=8, num_val=3, seed=2)
    return a, b, c


def test_seg_layout_and_labels(seg_res):
    res = seg_res[0]
    root = res['out_dir']
    present = set()
    touching_gland = False
    for split, num in (('train', 8), ('val', 3)):
        imgs = sorted(os.listdir(osp.join(root, 'img_dir', split)))
        anns = sorted(os.listdir(osp.join(root, 'ann_dir', split)))
        assert imgs == anns and len(imgs) == num
        for name in imgs:
            im = Image.open(osp.join(root, 'img_dir', split, name))
            lab = Image.open(osp.join(root, 'ann_dir', split, name))
            assert im.mode == 'RGB' and lab.mode == 'L'
            assert im.size == lab.size == (128, 128)
            lab = np.asarray(lab)
            values = set(np.unique(lab).tolist())
            assert values <= {0, 1, 2}
            present |= values
            h = (lab[:, :-1] == 1) & (lab[:, 1:] == 2) | \
                (lab[:, :-1] == 2) & (lab[:, 1:] == 1)
            v = (lab[:-1] == 1) & (lab[1:] == 2) | \
                (lab[:-1] == 2) & (lab[1:] == 1)
            touching_gland |= bool(h.any() or v.any())
    assert present == {0, 1, 2}
    assert touching_gland
    # cell instances touching each other (counted from the instance map)
    assert res['train']['num_touching_cell_pairs'] > 0
    assert res['train']['pixel_fraction']['cell'] > 0.01
    assert res['train']['pixel_fraction']['gland'] > 0.02


def test_seg_deterministic(seg_res):
    a, b, c = (_tree(r['out_dir']) for r in seg_res)
    assert a == b
    assert a.keys() == c.keys()
    assert a['img_dir/train/000000.png'] != c['img_dir/train/000000.png']
    assert a['ann_dir/train/000000.png'] != c['ann_dir/train/000000.png']


# ----------------------------------------------------------- classification
def test_cls_layout_and_determinism(tmp_path):
    res = toy.make_cls(tmp_path / 'a', num_train_per_class=3,
                       num_val_per_class=2, img_size=32, seed=0)
    again = toy.make_cls(tmp_path / 'b', num_train_per_class=3,
                         num_val_per_class=2, img_size=32, seed=0)
    assert _tree(res['out_dir']) == _tree(again['out_dir'])
    assert len(toy.CLS_CLASSES) == 10
    assert list(toy.CLS_CLASSES) == sorted(toy.CLS_CLASSES)
    with open(res['classes_file']) as f:
        assert f.read().split() == list(toy.CLS_CLASSES)
    for split, num in (('train', 3), ('val', 2)):
        split_dir = tmp_path / 'a' / split
        assert sorted(os.listdir(split_dir)) == list(toy.CLS_CLASSES)
        for name in toy.CLS_CLASSES:
            files = sorted(os.listdir(split_dir / name))
            assert len(files) == num
            arr = _png(split_dir / name / files[0])
            assert arr.shape == (32, 32, 3)
    # images of one class are not identical copies
    d = tmp_path / 'a' / 'train' / 'circle'
    assert (d / '000000.png').read_bytes() != (d / '000001.png').read_bytes()


# ---------------------------------------------------------------- retrieval
def test_retrieval_class_disjoint(tmp_path):
    res = toy.make_retrieval(tmp_path / 'r', num_classes=6, imgs_per_class=3,
                             img_size=48, seed=0)
    again = toy.make_retrieval(tmp_path / 'r2', num_classes=6,
                               imgs_per_class=3, img_size=48, seed=0)
    assert _tree(res['out_dir']) == _tree(again['out_dir'])
    names = toy.retrieval_classes(6)
    assert len(set(names)) == 6 and list(names) == sorted(names)
    labels = {}
    for split in ('train', 'test'):
        with open(tmp_path / 'r' / f'{split}.txt') as f:
            lines = f.read().splitlines()
        assert len(lines) == 3 * 3
        labels[split] = set()
        for line in lines:
            path, label = line.split(' ')
            label = int(label)
            parts = path.split('/')
            assert parts[0] == 'images' and parts[1] == names[label]
            arr = _png(tmp_path / 'r' / path)
            assert arr.shape == (48, 48, 3)
            labels[split].add(label)
    assert labels['train'] == {0, 1, 2}
    assert labels['test'] == {3, 4, 5}
    assert not labels['train'] & labels['test']
    assert len(toy.retrieval_classes(toy.RETRIEVAL_MAX_CLASSES)) == \
        len(set(toy.retrieval_classes(toy.RETRIEVAL_MAX_CLASSES)))
    assert toy.RETRIEVAL_NUM_CLASSES == 20


# ---------------------------------------------------------- caching / atomic
def test_rerun_is_noop_and_changed_args_need_overwrite(tmp_path):
    out = tmp_path / 'cls'
    first = toy.make_cls(out, num_train_per_class=2, num_val_per_class=1)
    assert first['skipped'] is False
    marker = out / 'train' / 'dots' / '000000.png'
    mtime = os.stat(marker).st_mtime_ns
    before = _tree(out)
    second = toy.make_cls(out, num_train_per_class=2, num_val_per_class=1)
    assert second['skipped'] is True
    assert os.stat(marker).st_mtime_ns == mtime
    assert _tree(out) == before
    with open(out / 'meta.json') as f:
        meta = json.load(f)
    assert meta['kind'] == 'cls' and meta['args']['seed'] == 0
    assert meta['format_version'] == toy.FORMAT_VERSION

    with pytest.raises(ValueError, match='overwrite'):
        toy.make_cls(out, num_train_per_class=3, num_val_per_class=1)
    with pytest.raises(ValueError, match='overwrite'):  # other kind
        toy.make_seg(out, num_train=1, num_val=1)
    assert _tree(out) == before

    third = toy.make_cls(out, num_train_per_class=3, num_val_per_class=1,
                         overwrite=True)
    assert third['skipped'] is False
    assert len(os.listdir(out / 'train' / 'dots')) == 3
    # nothing but the output directory is left next to it
    assert sorted(os.listdir(tmp_path)) == ['cls']


def test_foreign_directory_is_protected(tmp_path):
    out = tmp_path / 'mine'
    out.mkdir()
    (out / 'keep.txt').write_text('precious')
    with pytest.raises(ValueError, match='overwrite'):
        toy.make_retrieval(out, num_classes=2, imgs_per_class=2)
    assert (out / 'keep.txt').read_text() == 'precious'
    # an existing empty directory is simply filled
    empty = tmp_path / 'empty'
    empty.mkdir()
    res = toy.make_retrieval(empty, num_classes=2, imgs_per_class=2)
    assert res['skipped'] is False and (empty / 'train.txt').is_file()


# ---------------------------------------------------------------------- CLI
def _cli(*args, cwd=REPO_ROOT):
    return subprocess.run([sys.executable, CLI, *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def test_cli_rejects_bad_arguments(tmp_path):
    out = str(tmp_path / 'x')
    r = _cli('det', '--out', out, '--num-train', '0')
    assert r.returncode == 2
    assert '--num-train' in r.stderr
    r = _cli('det', '--out', out, '--img-size', '16')
    assert r.returncode == 2
    assert '--img-size' in r.stderr
    r = _cli('retrieval', '--out', out, '--imgs-per-class', '0')
    assert r.returncode == 2
    assert '--imgs-per-class' in r.stderr
    assert not os.path.exists(out)


def test_cli_generates_and_skips(tmp_path):
    out = str(tmp_path / 'd')
    args = ('det', '--out', out, '--num-train', '3', '--num-val', '2',
            '--img-size', '64', '--seed', '5')
    r = _cli(*args, cwd=str(tmp_path))  # works from any directory
    assert r.returncode == 0, r.stderr
    assert 'train 3 imgs' in r.stdout and 'val 2 imgs' in r.stdout
    assert len(r.stdout.strip().splitlines()) == 1
    with open(osp.join(out, 'annotations', 'val.json')) as f:
        assert len(json.load(f)['images']) == 2
    r = _cli(*args)
    assert r.returncode == 0 and 'skipped' in r.stdout
    r = _cli('det', '--out', out, '--num-train', '4')
    assert r.returncode != 0 and 'overwrite' in r.stderr
