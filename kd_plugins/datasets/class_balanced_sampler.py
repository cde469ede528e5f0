"""The P x K sampler of metric learning: batches of P classes with K images each.

Pair and triplet losses need positives (two images of one class) in every batch; a
uniform sampler over a retrieval set with ~60 images per class rarely gives any.
:class:`ClassBalancedSampler` cuts every class into groups of ``samples_per_class`` (K)
images and yields whole groups, so a batch of ``P * K`` images holds K images of each of
its classes. Registered in MMEngine's root ``DATA_SAMPLERS``, so every scope finds it.

Config::

    train_dataloader = dict(
        batch_size=32,  # P = 8 classes x K = 4 images
        sampler=dict(type='ClassBalancedSampler', samples_per_class=4),
        dataset=dict(type='CUB200Retrieval', data_root='data/CUB_200_2011',
                      split='train', pipeline=train_pipeline))

Give the sampler the batch size too (``batch_size=32``) to make sure no batch holds a
class twice; without it, a class's groups are spread over the epoch, which makes that
rare but does not rule it out.
"""
import math
import numbers
import warnings
from typing import Dict, Iterator, List, Optional

import numpy as np
from mmengine.dist import get_dist_info, sync_random_seed
from mmengine.registry import DATA_SAMPLERS
from torch.utils.data import Sampler


def _is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def dataset_labels(dataset) -> np.ndarray:
    """One integer class label per sample of ``dataset``: from ``get_gt_labels()``,
    else each sample's ``get_data_info(i)['gt_label']``, else ``get_cat_ids(i)`` (the
    dataset wrappers of MMEngine)."""
    name = type(dataset).__name__
    n = len(dataset)
    if callable(getattr(dataset, 'get_gt_labels', None)):
        raw = list(dataset.get_gt_labels())
    elif n and callable(getattr(dataset, 'get_data_info', None)) and \
            'gt_label' in dataset.get_data_info(0):
        raw = [dataset.get_data_info(i)['gt_label'] for i in range(n)]
    elif callable(getattr(dataset, 'get_cat_ids', None)):
        raw = [dataset.get_cat_ids(i) for i in range(n)]
    elif n:
        raise TypeError(
            f'ClassBalancedSampler: dataset {name} gives no class labels; it needs '
            "get_gt_labels(), get_data_info(i)['gt_label'] or get_cat_ids(i)")
    else:
        raw = []
    labels = np.empty(len(raw), dtype=np.int64)
    for i, x in enumerate(raw):
        arr = np.asarray(x).reshape(-1)
        if arr.size != 1 or not np.issubdtype(arr.dtype, np.integer):
            raise ValueError(
                f'ClassBalancedSampler: sample {i} of dataset {name} has label {x!r}; '
                'the sampler needs one integer class label per sample')
        labels[i] = arr[0]
    return labels


def max_blocks(group_counts: List[int], per_block: int) -> int:
    """The most blocks of ``per_block`` groups of distinct classes that ``group_counts``
    (groups per class) fill: the largest ``b`` with ``sum(min(g, b)) >= b *
    per_block``."""
    counts = np.asarray(group_counts)
    lo, hi = 0, int(counts.sum()) // per_block
    while lo < hi:  # sum(min(g, b)) - b * per_block is concave in b and 0 at b = 0
        mid = (lo + hi + 1) // 2
        if np.minimum(counts, mid).sum() >= mid * per_block:
            lo = mid
        else:
            hi = mid - 1
    return lo


@DATA_SAMPLERS.register_module()
class ClassBalancedSampler(Sampler):
    """Yields groups of ``samples_per_class`` (K) indices of one class each; with a
    dataloader ``batch_size = P * K`` every batch holds P classes with K images each.

    Each epoch every class's indices are shuffled and cut into groups of K; its last,
    incomplete group is filled up with other images of the class (repeats only when the
    class has fewer than K images). Classes with a single image give no positive pair
    and are left out (with a warning). The groups are dealt out in rounds (one group of
    every class with groups left per round, classes in random order), so a class's
    groups are spread over the epoch; with ``batch_size`` set, they are instead arranged
    into batches of ``batch_size // K`` distinct classes (a class with more groups than
    there are batches gives only one group per batch; the surplus is left out that
    epoch). Across ranks, the list is cut to a multiple of the world size and rank r
    takes the groups (batches) ``r::world_size``, so ``len(sampler)`` is the same on
    every rank and in every epoch.

    Args:
        dataset: a dataset with ``get_gt_labels()`` (every mmpretrain dataset), or whose
            ``get_data_info(i)`` has ``gt_label``, or with ``get_cat_ids(i)``.
        samples_per_class (int): K, images per class in a batch (>= 2: a positive pair
            needs two images of a class). The dataloader's ``batch_size`` must be a
            multiple of it. Defaults to 4.
        shuffle (bool): shuffle images and classes each epoch. ``False`` gives a fixed
            order (classes by label, groups in index order), for debugging.
        seed (int, optional): the shuffle seed (``seed + epoch`` each epoch); ``None``
            takes a random seed shared by all ranks, as MMEngine's ``DefaultSampler``.
        batch_size (int, optional): the dataloader's batch size (a multiple of K);
            given, no batch holds a class twice.
    """

    def __init__(self, dataset, samples_per_class: int = 4, shuffle: bool = True,
                 seed: Optional[int] = None, batch_size: Optional[int] = None) -> None:
        name = type(dataset).__name__
        if not _is_int(samples_per_class) or samples_per_class < 2:
            raise ValueError(
                f'ClassBalancedSampler: samples_per_class must be an int >= 2 (a '
                f'positive pair needs two images of a class), got {samples_per_class!r}')
        k = int(samples_per_class)
        if batch_size is not None and (not _is_int(batch_size) or batch_size < k
                                       or batch_size % k):
            raise ValueError(
                f'ClassBalancedSampler: batch_size must be a positive multiple of '
                f'samples_per_class={k} (P classes x {k} images), got {batch_size!r}')
        if seed is not None and (not _is_int(seed) or seed < 0):
            raise ValueError(f'ClassBalancedSampler: seed must be an int >= 0 or None, '
                             f'got {seed!r}')
        self.dataset = dataset
        self.samples_per_class = k
        self.shuffle = bool(shuffle)
        self.rank, self.world_size = get_dist_info()

        by_class: Dict[int, List[int]] = {}
        for i, label in enumerate(dataset_labels(dataset)):
            by_class.setdefault(int(label), []).append(i)
        singles = [c for c, idx in by_class.items() if len(idx) < 2]
        self.class_indices = {c: np.asarray(by_class[c], dtype=np.int64)
                              for c in sorted(by_class) if len(by_class[c]) >= 2}
        if not self.class_indices:
            raise ValueError(
                f'ClassBalancedSampler: no class of dataset {name} ({len(dataset)} '
                f'images, {len(by_class)} classes) has 2 or more images, so no batch '
                f'can hold a positive pair (samples_per_class={k})')
        if singles:
            warnings.warn(
                f'ClassBalancedSampler: {len(singles)} classes of dataset {name} have a '
                'single image and give no positive pair; they are left out (first: '
                f'{sorted(singles)[:5]})', UserWarning, stacklevel=2)
        self.group_counts = {c: math.ceil(len(idx) / k)
                             for c, idx in self.class_indices.items()}
        self.num_groups = sum(self.group_counts.values())

        self.classes_per_batch = None if batch_size is None else batch_size // k
        if self.classes_per_batch is None:
            units, unit_size = self.num_groups, k
        else:
            if self.classes_per_batch > len(self.class_indices):
                raise ValueError(
                    f'ClassBalancedSampler: batch_size={batch_size} needs '
                    f'{self.classes_per_batch} classes per batch but dataset {name} has '
                    f'only {len(self.class_indices)} classes with 2 or more images')
            units = max_blocks(list(self.group_counts.values()), self.classes_per_batch)
            unit_size = batch_size
        self.num_units = units
        self.units_per_rank = units // self.world_size
        if self.units_per_rank == 0:
            raise ValueError(
                f'ClassBalancedSampler: dataset {name} gives {units} '
                f"{'groups' if batch_size is None else 'batches'} of "
                f'samples_per_class={k} per epoch, fewer than the {self.world_size} '
                'ranks')
        self.num_samples = self.units_per_rank * unit_size
        self.seed = sync_random_seed() if seed is None else int(seed)
        self.epoch = 0

    def _class_groups(self, idx: np.ndarray, rng) -> List[np.ndarray]:
        """One class's indices cut into groups of K, the last one filled up."""
        k = self.samples_per_class
        order = rng.permutation(idx) if rng is not None else idx
        groups = [order[i:i + k] for i in range(0, len(order), k)]
        need = k - len(groups[-1])
        if need:
            if len(order) >= k:  # fill from the images not in the last group
                rest = order[:len(order) - len(groups[-1])]
                extra = rng.choice(rest, need, replace=False) if rng is not None \
                    else rest[:need]
            else:  # fewer than K images: repeats cannot be avoided
                extra = rng.choice(order, need, replace=True) if rng is not None \
                    else np.resize(order, need)
            groups[-1] = np.concatenate([groups[-1], extra])
        return groups

    def _rounds(self, groups: List[List[np.ndarray]], rng) -> List[np.ndarray]:
        """Round r holds the r-th group of every class that has one."""
        out = []
        for r in range(max(len(g) for g in groups)):
            row = [g[r] for g in groups if len(g) > r]
            if rng is not None:
                row = [row[i] for i in rng.permutation(len(row))]
            out.extend(row)
        return out

    def _blocks(self, groups: List[List[np.ndarray]], rng) -> List[np.ndarray]:
        """``num_units`` batches of P groups of distinct classes."""
        n, p = self.num_units, self.classes_per_batch
        items = [g for class_groups in groups for g in class_groups[:n]]
        surplus = len(items) - n * p
        if surplus:
            drop = set(rng.choice(len(items), surplus, replace=False).tolist()) \
                if rng is not None else set(range(n * p, len(items)))
            items = [g for i, g in enumerate(items) if i not in drop]
        # a class's (<= n) groups are adjacent in items, so they land in distinct blocks
        blocks = [np.concatenate(items[j::n]) for j in range(n)]
        if rng is not None:
            blocks = [blocks[i] for i in rng.permutation(n)]
        return blocks

    def __iter__(self) -> Iterator[int]:
        rng = np.random.default_rng(self.seed + self.epoch) if self.shuffle else None
        classes = list(self.class_indices)
        if rng is not None:
            classes = [classes[i] for i in rng.permutation(len(classes))]
        groups = [self._class_groups(self.class_indices[c], rng) for c in classes]
        units = self._rounds(groups, rng) if self.classes_per_batch is None \
            else self._blocks(groups, rng)
        units = units[:self.units_per_rank * self.world_size][self.rank::self.world_size]
        return iter([int(i) for unit in units for i in unit])

    def __len__(self) -> int:
        """The number of indices this rank yields per epoch."""
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """Reshuffle with ``seed + epoch`` at the next iteration."""
        self.epoch = epoch
