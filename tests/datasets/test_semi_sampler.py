"""The checked multi-source samplers (M3 data side): the labeled:unlabeled composition of
a batch, and a clear error or warning for each bad input of issue 4 instead of mmdet's
silent endless loop."""
import itertools
import json
import os.path as osp
import shutil
import warnings

import pytest

from kd_plugins.datasets import (SemiGroupMultiSourceSampler, SemiMultiSourceSampler,
                                 check_semi_sources)
from kd_plugins.datasets.toy import split_det_semi

CLASSES = ('circle', 'square', 'triangle', 'cross', 'ring')


@pytest.fixture(scope='module')
def split(toy_det_root, tmp_path_factory):
    root = str(tmp_path_factory.mktemp('semi_sampler'))
    shutil.copytree(toy_det_root, osp.join(root, 'toy'))
    root = osp.join(root, 'toy')
    res = split_det_semi(osp.join(root, 'annotations', 'train.json'), 25, seed=0)
    empty = osp.join(root, 'annotations', 'empty.json')
    with open(res['unlabeled']) as f:
        coco = json.load(f)
    with open(empty, 'w') as f:
        json.dump(dict(coco, images=[], annotations=[]), f)
    return dict(root=root, labeled=res['labeled'], unlabeled=res['unlabeled'],
                full=osp.join(root, 'annotations', 'train.json'), empty=empty,
                num_labeled=res['num_labeled'], num_unlabeled=res['num_unlabeled'])


def concat(split, labeled='labeled', unlabeled='unlabeled'):
    from mmdet.datasets import CocoDataset
    from mmengine.dataset import ConcatDataset
    from mmengine.registry import init_default_scope
    init_default_scope('mmdet')

    def ds(key, filter_empty):
        return CocoDataset(ann_file=split[key], data_prefix=dict(img='train/'),
                           data_root=split['root'], metainfo=dict(classes=CLASSES),
                           filter_cfg=dict(filter_empty_gt=filter_empty),
                           pipeline=[])

    return ConcatDataset([ds(labeled, True), ds(unlabeled, False)])


def test_batches_mix_sources_in_the_ratio(split):
    dataset = concat(split)
    n_lab = len(dataset.datasets[0])
    assert (n_lab, len(dataset.datasets[1])) == (split['num_labeled'],
                                                   split['num_unlabeled'])
    sampler = SemiMultiSourceSampler(dataset, batch_size=8, source_ratio=[1, 3], seed=0)
    first = list(itertools.islice(iter(sampler), 16))
    for b in (first[:8], first[8:]):
        assert sum(i < n_lab for i in b) == 2 and sum(i >= n_lab for i in b) == 6
    group = SemiGroupMultiSourceSampler(dataset, batch_size=4, source_ratio=[1, 1],
                                        seed=0)
    b = list(itertools.islice(iter(group), 4))
    assert sum(i < n_lab for i in b) == 2


@pytest.mark.parametrize('ratio', [[1, 0], [0, 1], [1, -2], [1, float('nan')]])
def test_zero_or_negative_share_names_the_field(split, ratio):
    bad = [i for i, r in enumerate(ratio) if not r > 0][0]
    with pytest.raises(ValueError, match=rf'source_ratio\[{bad}\].*positive share'):
        SemiMultiSourceSampler(concat(split), batch_size=4, source_ratio=ratio)


def test_ratio_length_and_small_batch(split):
    with pytest.raises(ValueError, match='one share per dataset'):
        SemiMultiSourceSampler(concat(split), batch_size=4, source_ratio=[1])
    with pytest.raises(ValueError, match=r'batch_size=4 .* source 1 .* no image per batch'):
        SemiMultiSourceSampler(concat(split), batch_size=4, source_ratio=[9, 1])
    with pytest.raises(ValueError, match='ConcatDataset'):
        check_semi_sources(concat(split).datasets[0], 4, [1, 1])


def test_empty_unlabeled_set_names_its_file(split):
    # an empty file: the dataset itself refuses (kd_plugins.compat, fix 10)
    with pytest.raises(ValueError, match=r"ann_file '.*empty\.json' holds no data"):
        concat(split, unlabeled='empty')
    # a set left empty by its filter (unserialised): the sampler refuses
    dataset = concat(split)
    dataset.datasets[1].data_list = []
    dataset.datasets[1].serialize_data = False
    with pytest.raises(ValueError, match=r"source 1 \(ann_file '.*unlabeled\.json'\) "
                       'has no images'):
        SemiMultiSourceSampler(dataset, batch_size=4, source_ratio=[1, 1])


def test_unlabeled_file_with_boxes_warns_naming_the_file(split):
    with open(split['full']) as f:
        boxes = len(json.load(f)['annotations'])
    with pytest.warns(UserWarning, match=rf"train\.json'\) is an unlabeled source but "
                      rf'its annotations carry {boxes} boxes'):
        SemiMultiSourceSampler(concat(split, unlabeled='full'), batch_size=4,
                               source_ratio=[1, 1])
    with warnings.catch_warnings():  # the box-free split, or told: no warning
        warnings.simplefilter('error')
        SemiMultiSourceSampler(concat(split), batch_size=4, source_ratio=[1, 1])
        SemiMultiSourceSampler(concat(split, unlabeled='full'), batch_size=4,
                               source_ratio=[1, 1], warn_boxes=False)


def test_registered_for_mmdet_configs(split):
    from mmdet.registry import DATA_SAMPLERS
    sampler = DATA_SAMPLERS.build(
        dict(type='SemiMultiSourceSampler', batch_size=4, source_ratio=[1, 1]),
        default_args=dict(dataset=concat(split), seed=0))
    assert isinstance(sampler, SemiMultiSourceSampler)
