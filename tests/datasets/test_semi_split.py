"""Labeled / unlabeled split of a COCO file for semi-supervised distillation (issue 4,
data side): seeded, disjoint, complete, no box left in the unlabeled file."""
import json
import os.path as osp
import shutil
import subprocess
import sys

import pytest

from conftest import ROOT, subprocess_env
from kd_plugins.datasets.toy import semi_split_names, split_det_semi


@pytest.fixture
def ann(toy_det_root, tmp_path):
    dst = tmp_path / 'train.json'
    shutil.copy(osp.join(toy_det_root, 'annotations', 'train.json'), dst)
    return str(dst)


def load(path):
    with open(path) as f:
        return json.load(f)


def test_split_is_disjoint_complete_and_box_free(ann):
    full = load(ann)
    res = split_det_semi(ann, percent=25, seed=3)
    assert (res['labeled'], res['unlabeled']) == semi_split_names(ann, 25, 3)
    assert res['labeled'].endswith('train.3@25.json')
    lab, unl = load(res['labeled']), load(res['unlabeled'])
    lab_ids = {i['id'] for i in lab['images']}
    unl_ids = {i['id'] for i in unl['images']}
    assert not lab_ids & unl_ids
    assert lab_ids | unl_ids == {i['id'] for i in full['images']}
    assert len(lab_ids) == round(len(full['images']) * 0.25) == res['num_labeled']
    assert unl['annotations'] == []
    expected = [a for a in full['annotations'] if a['image_id'] in lab_ids]
    assert lab['annotations'] == expected and len(expected) == res['num_labeled_boxes']
    assert lab['categories'] == unl['categories'] == full['categories']


def test_split_is_seeded(ann):
    a = {i['id'] for i in load(split_det_semi(ann, 50, seed=0)['labeled'])['images']}
    b = {i['id'] for i in load(split_det_semi(ann, 50, seed=0)['labeled'])['images']}
    c = {i['id'] for i in load(split_det_semi(ann, 50, seed=1)['labeled'])['images']}
    assert a == b and a != c


def test_tiny_percent_keeps_one_labeled_image(ann):
    res = split_det_semi(ann, percent=0.1, seed=0)
    assert res['num_labeled'] == 1 and res['num_unlabeled'] == len(load(ann)['images']) - 1


@pytest.mark.parametrize('percent', [0, 100, -5, 150, 'ten', True])
def test_bad_percent_names_the_field(ann, percent):
    with pytest.raises(ValueError, match='percent must be a number in'):
        split_det_semi(ann, percent=percent)


def test_bad_files_name_the_file(tmp_path):
    with pytest.raises(ValueError, match='cannot be read'):
        split_det_semi(str(tmp_path / 'missing.json'))
    bad = tmp_path / 'bad.json'
    bad.write_text('{"images": []}')
    with pytest.raises(ValueError, match=r"bad.json.*at least 2 images"):
        split_det_semi(str(bad))


def test_cli_writes_the_split(ann):
    res = subprocess.run([sys.executable, 'tools/make_toy_data.py', 'det-semi', '--ann',
                          ann, '--percent', '10'], cwd=ROOT, env=subprocess_env(),
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert osp.isfile(semi_split_names(ann, 10, 0)[1]) and 'unlabeled' in res.stdout
    res = subprocess.run([sys.executable, 'tools/make_toy_data.py', 'det-semi', '--ann',
                          ann, '--percent', '0'], cwd=ROOT, env=subprocess_env(),
                         capture_output=True, text=True)
    assert res.returncode == 1 and 'percent must be a number' in res.stderr
