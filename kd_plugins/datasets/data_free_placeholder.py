"""A training "dataset" for data-free distillation: no images, only loop ticks.

Data-free algorithms make their training images with generators, but MMEngine's training
loop still draws a batch from a dataloader every iteration. Each item here is what
mmpretrain's ``PackInputs`` would give for a tiny blank image: a ``(3, 1, 1)`` zero
``uint8`` tensor and a ``DataSample`` with ``gt_label`` 0. That is enough for MMRazor's
``DAFLDataFreeDistillation`` / ``DataFreeDistillation`` (they take their batch size from
``len(data['inputs'])`` and run the student in ``mode='loss'``, whose task loss they
discard) and for :class:`DualGeneratorDataFreeDistill`, which ignores the batch.
Registered in MMEngine's root ``DATASETS``, so every default scope finds it.

Config::

    train_dataloader = dict(
        batch_size=1, num_workers=0,
        sampler=dict(type='DefaultSampler', shuffle=False),
        dataset=dict(type='DataFreePlaceholderDataset', length=1000))
"""
import torch
from mmengine.registry import DATASETS
from mmpretrain.structures import DataSample
from torch.utils.data import Dataset


@DATASETS.register_module()
class DataFreePlaceholderDataset(Dataset):
    """``length`` identical items ``dict(inputs=zeros(3, 1, 1), data_samples=...)``.

    Args:
        length (int): items per epoch (> 0); with an iteration-based loop any value
            works, the dataloader just cycles.
    """

    def __init__(self, length: int = 1000) -> None:
        if isinstance(length, bool) or not isinstance(length, int) or length <= 0:
            raise ValueError(f'length must be a positive int, got {length!r}')
        self.length = length
        self.metainfo = {}  # no classes: the val set's metainfo names them

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, idx: int) -> dict:
        if not -self.length <= idx < self.length:
            raise IndexError(f'index {idx} out of range for length {self.length}')
        return dict(inputs=torch.zeros(3, 1, 1, dtype=torch.uint8),
                    data_samples=DataSample().set_gt_label(0))
