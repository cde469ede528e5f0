"""DataFreePlaceholderDataset: items a classification data preprocessor accepts."""
import pytest
from mmengine.dataset import pseudo_collate

from kd_plugins.datasets import DataFreePlaceholderDataset


def test_placeholder_items_feed_a_cls_preprocessor():
    from mmengine.registry import DATASETS
    from mmrazor.registry import MODELS
    ds = DATASETS.build(dict(type='DataFreePlaceholderDataset', length=5))
    assert isinstance(ds, DataFreePlaceholderDataset) and len(ds) == 5
    batch = pseudo_collate([ds[i] for i in range(3)])
    pp = MODELS.build(dict(type='mmpretrain.ClsDataPreprocessor', num_classes=10,
                           mean=[127.5] * 3, std=[63.75] * 3, to_rgb=True))
    out = pp(batch, True)
    assert out['inputs'].shape == (3, 3, 1, 1)
    assert [int(s.gt_label) for s in out['data_samples']] == [0, 0, 0]
    with pytest.raises(IndexError):
        ds[5]
    with pytest.raises(ValueError, match='length must be a positive int'):
        DataFreePlaceholderDataset(0)
