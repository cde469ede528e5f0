"""Every M3 config's labeled and unlabeled pipelines run on a real image: labeled images
fill the `sup` branch with their boxes, unlabeled ones the `unsup` branch and never
carry a box, even when their annotation file has some (VOC2012 as unlabeled)."""
import glob
import os.path as osp

import pytest
from mmengine.config import Config

from conftest import CONFIGS

M3_CONFIGS = sorted(glob.glob(osp.join(CONFIGS, 'semi_adaptive', '*.py')))


def test_there_are_m3_configs_for_every_setting():
    names = [osp.basename(p) for p in M3_CONFIGS]
    for pair in ('yolov3-d53_yolov3-mbv2', 'faster-rcnn-r101_faster-rcnn-r50_fpn'):
        for pct in (1, 5, 10):
            assert f'm3_{pair}_coco-semi{pct}.py' in names
    assert 'm3_yolov3-d53_yolov3-mbv2_voc07-labeled_voc12-unlabeled.py' in names
    assert any('toy-det-semi10' in n for n in names)


def sample(toy_det_root):
    img = osp.join(toy_det_root, 'train', '000000.png')
    # one big box, so that crops around boxes (MinIoURandomCrop) always find it
    inst = [dict(bbox=[10.0, 10.0, 150.0, 150.0], bbox_label=1, ignore_flag=0)]
    return dict(img_path=img, img_id=0, height=160, width=160, instances=inst)


@pytest.mark.parametrize('path', M3_CONFIGS, ids=osp.basename)
def test_branches_of_labeled_and_unlabeled_pipelines(path, toy_det_root):
    from mmengine.dataset import Compose
    from mmengine.registry import init_default_scope
    init_default_scope('mmdet')
    labeled, unlabeled = Config.fromfile(path).train_dataloader.dataset.datasets
    out = Compose(labeled.pipeline)(sample(toy_det_root))
    assert out['inputs']['unsup'] is None and out['inputs']['sup'].dim() == 3
    assert len(out['data_samples']['sup'].gt_instances) == 1
    out = Compose(unlabeled.pipeline)(sample(toy_det_root))  # boxes in its annotations
    assert out['inputs']['sup'] is None and out['inputs']['unsup'].dim() == 3
    assert len(out['data_samples']['unsup'].gt_instances) == 0
    assert labeled.filter_cfg.get('filter_empty_gt', True)
    assert unlabeled.filter_cfg == dict(filter_empty_gt=False)
