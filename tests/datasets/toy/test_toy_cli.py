"""tools/make_toy_data.py: the split flags, their checks and the old flag's message."""
import json
import os
import os.path as osp

import pytest
from toy_helpers import cli


@pytest.mark.parametrize('argv,flag', [
    (('det', '--num-train', '0'), '--num-train'),
    (('det', '--num-test', '0'), '--num-test'),
    (('seg', '--num-test', 'x'), '--num-test'),
    (('cls', '--num-test', '-1'), '--num-test'),
    (('det', '--img-size', '16'), '--img-size'),
    (('retrieval', '--imgs-per-class', '1'), '--imgs-per-class'),
    (('retrieval', '--train-classes', '0'), '--train-classes'),
    (('retrieval', '--val-classes', '145'), '--val-classes'),
    (('retrieval', '--test-classes', 'two'), '--test-classes'),
    (('retrieval', '--train-classes', '100', '--val-classes', '40'),
     '--train-classes + --val-classes + --test-classes must be <= 144, got '
     '100 + 40 + 20 = 160'),
    (('retrieval', '--num-classes', '20'), '--num-classes was replaced by '
     '--train-classes, --val-classes and --test-classes'),
])
def test_cli_rejects_bad_arguments(tmp_path, argv, flag):
    out = str(tmp_path / 'x')
    r = cli(argv[0], '--out', out, *argv[1:])
    assert r.returncode == 2, r.stdout + r.stderr
    assert flag in r.stderr
    assert not os.path.exists(out)


def test_cli_det_three_splits_and_skip(tmp_path):
    out = str(tmp_path / 'd')
    args = ('det', '--out', out, '--num-train', '2', '--num-val', '1',
            '--num-test', '3', '--img-size', '32', '--seed', '5')
    r = cli(*args, cwd=str(tmp_path))  # works from any directory
    assert r.returncode == 0, r.stderr
    assert 'train 2 imgs' in r.stdout and 'val 1 imgs' in r.stdout
    assert 'test 3 imgs' in r.stdout
    assert len(r.stdout.strip().splitlines()) == 1
    for split, num in (('val', 1), ('test', 3)):
        with open(osp.join(out, 'annotations', f'{split}.json')) as f:
            assert len(json.load(f)['images']) == num
    assert sorted(os.listdir(osp.join(out, 'test'))) == \
        ['000000.png', '000001.png', '000002.png']
    r = cli(*args)
    assert r.returncode == 0 and 'skipped' in r.stdout
    r = cli('det', '--out', out, '--num-test', '4')
    assert r.returncode != 0 and 'overwrite' in r.stderr


def test_cli_seg_and_cls_num_test(tmp_path):
    seg = str(tmp_path / 's')
    r = cli('seg', '--out', seg, '--num-train', '1', '--num-val', '1', '--num-test', '2',
            '--img-size', '32')
    assert r.returncode == 0, r.stderr
    assert sorted(os.listdir(osp.join(seg, 'img_dir', 'test'))) == \
        sorted(os.listdir(osp.join(seg, 'ann_dir', 'test'))) == \
        ['000000.png', '000001.png']
    cls = str(tmp_path / 'c')
    r = cli('cls', '--out', cls, '--num-train', '1', '--num-val', '1', '--num-test', '2',
            '--img-size', '16')
    assert r.returncode == 0, r.stderr
    assert 'test 20 imgs' in r.stdout  # per class: 2 x 10 classes
    assert len(os.listdir(osp.join(cls, 'test', 'dots'))) == 2


def test_cli_retrieval_class_flags(tmp_path):
    out = str(tmp_path / 'r')
    r = cli('retrieval', '--out', out, '--train-classes', '2', '--val-classes', '3',
            '--test-classes', '1', '--imgs-per-class', '2', '--img-size', '32')
    assert r.returncode == 0, r.stderr
    assert ('6 classes, train 4 imgs (2 classes), val 6 imgs (3 classes), '
            'test 2 imgs (1 classes)') in r.stdout
    labels = {}
    for split in ('train', 'val', 'test'):
        with open(osp.join(out, f'{split}.txt')) as f:
            labels[split] = {int(line.split()[1]) for line in f.read().splitlines()}
    assert labels == {'train': {0, 1}, 'val': {2, 3, 4}, 'test': {5}}
