"""mmdet's multi-source samplers, with the semi-supervised data checked first.

mmdet's ``MultiSourceSampler`` / ``GroupMultiSourceSampler`` build labeled:unlabeled
batches from a ``ConcatDataset``. Given a source with no share of the batch (a zero in
``source_ratio``, or a batch too small for the ratio) or an empty source, they loop
forever looking for a sample, with no message. :class:`SemiMultiSourceSampler` and
:class:`SemiGroupMultiSourceSampler` take the same arguments and refuse such input at
build time, naming the field or the annotation file; an unlabeled source whose
annotations carry boxes gets a warning naming its file (semi-supervised distillation
never reads them: they are ignored).

Config (replaces ``type='MultiSourceSampler'``)::

    sampler=dict(type='SemiMultiSourceSampler', batch_size=16, source_ratio=[1, 1])
"""
import math
import warnings
from typing import List, Optional, Sequence, Union

from mmdet.datasets.samplers import GroupMultiSourceSampler, MultiSourceSampler
from mmdet.registry import DATA_SAMPLERS


def source_name(dataset, index: int) -> str:
    ann = getattr(dataset, 'ann_file', None)
    return f'source {index} (ann_file {ann!r})' if ann else f'source {index}'


def split_batch(batch_size: int, source_ratio: Sequence) -> List[int]:
    """Images per batch of each source, computed as mmdet's samplers do."""
    num = [int(batch_size * r / sum(source_ratio)) for r in source_ratio]
    num[0] = batch_size - sum(num[1:])
    return num


def count_boxes(dataset) -> tuple:
    """``(boxes, images with boxes)`` in a dataset's parsed annotations."""
    boxes = images = 0
    for i in range(len(dataset)):
        inst = [x for x in dataset.get_data_info(i).get('instances', ())
                if x.get('bbox') is not None]
        boxes += len(inst)
        images += bool(inst)
    return boxes, images


def check_semi_sources(dataset, batch_size, source_ratio,
                       unlabeled_sources: Optional[Sequence[int]] = None,
                       warn_boxes: bool = True) -> None:
    """Raise ``ValueError`` for input a multi-source sampler would hang on; warn when
    an unlabeled source carries boxes."""
    subsets = getattr(dataset, 'datasets', None)
    if subsets is None or not hasattr(dataset, 'cumulative_sizes'):
        raise ValueError(
            'train_dataloader.dataset: a multi-source sampler needs a ConcatDataset of '
            f'the labeled and the unlabeled datasets, got {type(dataset).__name__}')
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or \
            batch_size < 1:
        raise ValueError(f'sampler.batch_size must be an integer >= 1, got '
                         f'{batch_size!r}')
    if not isinstance(source_ratio, (list, tuple)) or \
            len(source_ratio) != len(subsets):
        raise ValueError(
            f'sampler.source_ratio must list one share per dataset of the '
            f'ConcatDataset ({len(subsets)}), got {source_ratio!r}')
    for i, r in enumerate(source_ratio):
        if isinstance(r, bool) or not isinstance(r, (int, float)) or \
                not (r > 0 and math.isfinite(r)):
            raise ValueError(
                f'sampler.source_ratio[{i}] is {r!r}: every source needs a positive '
                f'share of the batch ({source_name(subsets[i], i)}; a zero share never '
                'yields a sample and the sampler would wait for one forever). Drop the '
                'source from the ConcatDataset instead.')
    num = split_batch(batch_size, source_ratio)
    for i, n in enumerate(num):
        if n < 1:
            raise ValueError(
                f'sampler.batch_size={batch_size} with source_ratio={list(source_ratio)}'
                f' gives {source_name(subsets[i], i)} no image per batch ({num}); '
                'raise batch_size or even out the ratio')
    for i, ds in enumerate(subsets):
        if len(ds) == 0:
            raise ValueError(
                f'{source_name(ds, i)} has no images (after its filter_cfg '
                f'{getattr(ds, "filter_cfg", None)!r}); an unlabeled set needs '
                'filter_cfg=dict(filter_empty_gt=False)')
    if unlabeled_sources is None:
        unlabeled_sources = range(1, len(subsets))
    for i in unlabeled_sources:
        if not 0 <= i < len(subsets):
            raise ValueError(f'unlabeled_sources: {i} is not a source index '
                             f'(0..{len(subsets) - 1})')
        boxes, images = count_boxes(subsets[i]) if warn_boxes else (0, 0)
        if boxes:
            warnings.warn(
                f'{source_name(subsets[i], i)} is an unlabeled source but its '
                f'annotations carry {boxes} boxes in {images} images; they are ignored '
                '(the unlabeled branch never reads ground truth). Point it at an '
                'unlabeled split (tools/make_toy_data.py det-semi writes one) if the '
                'boxes were meant to be used.', UserWarning, stacklevel=3)


class _CheckedSources:
    """Runs :func:`check_semi_sources` before the mmdet sampler is built."""

    def __init__(self, dataset, batch_size: int,
                 source_ratio: List[Union[int, float]], shuffle: bool = True,
                 seed: Optional[int] = None,
                 unlabeled_sources: Optional[Sequence[int]] = None,
                 warn_boxes: bool = True) -> None:
        check_semi_sources(dataset, batch_size, source_ratio, unlabeled_sources,
                           warn_boxes)
        super().__init__(dataset, batch_size, list(source_ratio), shuffle, seed)


@DATA_SAMPLERS.register_module()
class SemiMultiSourceSampler(_CheckedSources, MultiSourceSampler):
    """mmdet's ``MultiSourceSampler`` with the checks of :func:`check_semi_sources`.

    Args:
        unlabeled_sources (list[int], optional): indices of the unlabeled datasets in
            the ``ConcatDataset`` (default: all but the first).
        warn_boxes (bool): warn when an unlabeled source's annotations carry boxes
            (default True; False where that is deliberate, e.g. VOC2012 used as
            unlabeled images).
        Others: as ``mmdet.datasets.samplers.MultiSourceSampler``.
    """


@DATA_SAMPLERS.register_module()
class SemiGroupMultiSourceSampler(_CheckedSources, GroupMultiSourceSampler):
    """mmdet's ``GroupMultiSourceSampler`` (batches of one aspect-ratio group) with the
    checks of :func:`check_semi_sources`; arguments as :class:`SemiMultiSourceSampler`.
    """
