"""Metric-learning (image retrieval) datasets with the standard class-disjoint split.

Retrieval benchmarks train on one half of the classes and evaluate on the other half,
so no test class is ever seen in training. Each dataset here reads one benchmark's own
on-disk format and gives mmpretrain samples ``dict(img_path=<absolute path>,
gt_label=<int>)``; a label is the benchmark's global class id made 0-based (CUB class 1
is label 0, its test classes keep labels 100..199): retrieval only compares labels for
equality. ``metainfo['classes']`` lists the names of all classes of both splits, indexed
by label. CUB and Cars split their class ids in halves (disjoint by construction); SOP
and the lists read two split files, which are checked to share no class.

- :class:`CUB200Retrieval`: ``CUB_200_2011`` (train: classes 1..100, test: 101..200).
- :class:`Cars196Retrieval`: Stanford Cars ``cars_annos.mat`` (train: classes 1..98,
  test: 99..196; the file's own ``test`` flag is ignored).
- :class:`SOPRetrieval`: Stanford Online Products ``Ebay_train.txt`` / ``Ebay_test.txt``.
- :class:`RetrievalListDataset`: ``<path> <label>`` lists, e.g. the toy set written by
  ``tools/make_toy_data.py retrieval``.

Image files are not checked at load time (SOP has 120k of them): the loading transform
reports a missing one.

Config::

    train_dataloader = dict(
        batch_size=32,
        sampler=dict(type='ClassBalancedSampler', samples_per_class=4),
        dataset=dict(type='CUB200Retrieval', data_root='data/CUB_200_2011',
                     split='train', pipeline=train_pipeline))
"""
import os.path as osp
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np
from mmpretrain.datasets import BaseDataset
from mmpretrain.registry import DATASETS

SPLITS = ('train', 'test')

CUB_IMAGES_FMT = "'<image_id> <path under images/>' per line"
CUB_LABELS_FMT = "'<image_id> <class_id>' per line (class ids 1..200)"
CUB_CLASSES_FMT = "'<class_id> <class name>' per line"
CARS_FMT = ("the Stanford Cars 'all images' annotations: a struct array 'annotations' "
            "with fields relative_im_path, class, test and bbox_*, and optionally a "
            "cell array 'class_names'")
SOP_FMT = ("a header line 'image_id class_id super_class_id path', then "
           "'<image_id> <class_id> <super_class_id> <path relative to data_root>' "
           'per line')
LIST_FMT = "'<image path relative to data_root> <label>' per line (labels >= 0)"


def _check_split(split, dataset: str) -> str:
    if split not in SPLITS:
        raise ValueError(f"{dataset}: split must be 'train' or 'test', got {split!r}")
    return split


def _check_root(data_root, dataset: str) -> str:
    """``data_root`` as an absolute path (not checked on disk)."""
    if not isinstance(data_root, str) or not data_root:
        raise ValueError(f'{dataset}: data_root must be the path of the dataset '
                         f'directory, got {data_root!r}')
    return osp.abspath(osp.expanduser(data_root))


def _require_root(root: str, dataset: str, expected: str) -> None:
    if not osp.isdir(root):
        raise FileNotFoundError(
            f'{dataset}: data_root {root!r} does not exist or is not a directory; '
            f'expected a directory holding {expected}')


def _require_file(path: str, dataset: str, fmt: str) -> None:
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'{dataset}: annotation file {path!r} not found; it should contain {fmt}')


def _read_lines(path: str, dataset: str, fmt: str) -> List[Tuple[int, str]]:
    """``(line number, stripped text)`` of the non-blank lines of ``path``."""
    _require_file(path, dataset, fmt)
    with open(path, encoding='utf-8') as f:
        return [(n, line.strip()) for n, line in enumerate(f, 1) if line.strip()]


def _malformed(path: str, lineno: int, line: str, fmt: str, why: str = '') -> ValueError:
    why = f' ({why})' if why else ''
    return ValueError(f'{path}:{lineno}: malformed line {line!r}{why}; expected {fmt}')


def _parse_int(text: str, path: str, lineno: int, line: str, fmt: str,
               minimum: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise _malformed(path, lineno, line, fmt, f'{text!r} is not an integer') \
            from None
    if value < minimum:
        raise _malformed(path, lineno, line, fmt, f'{value} is below {minimum}')
    return value


def check_disjoint(ids: Iterable[int], other_ids: Iterable[int], where: str) -> None:
    """Raise ``ValueError`` when the two splits' class ids overlap; ``where`` names the
    annotation file(s)."""
    shared = sorted(set(ids) & set(other_ids))
    if shared:
        raise ValueError(
            f'{where}: {len(shared)} classes are in both the train and the test split '
            f'(first: {shared[:5]}); retrieval needs class-disjoint train/test splits '
            '(it is evaluated on classes never seen in training)')


def half_split(class_ids: Iterable[int], split: str, path: str) -> Tuple[set, str]:
    """The class ids of ``split`` (the first half of the sorted distinct ids trains, the
    rest tests) and the text naming it in errors (``path``: the annotation file)."""
    ids = sorted(set(class_ids))
    half = len(ids) // 2
    where = (f'{path} ({len(ids)} classes; the {split} split takes the '
             + ('first' if split == 'train' else 'second') + ' half of the sorted class '
             'ids)')
    return set(ids[:half] if split == 'train' else ids[half:]), where


def id_names(max_id: int, names: Optional[Dict[int, str]] = None) -> Tuple[str, ...]:
    """Class names indexed by label (class id - 1); an id without a name is named
    ``str(id)``."""
    names = names or {}
    return tuple(names.get(i, str(i)) for i in range(1, max_id + 1))


class _RetrievalDataset(BaseDataset):
    """Shared part: argument checks, the empty-split check and the class names."""

    def __init__(self, data_root: str, ann_file: str, **kwargs) -> None:
        self.data_root = _check_root(data_root, type(self).__name__)
        super().__init__(ann_file=ann_file, data_root=self.data_root, **kwargs)

    def _samples(self) -> Tuple[List[Tuple[str, int]], Optional[Sequence[str]], str]:
        """``([(image path, label)], class names or None, where)`` of this split."""
        raise NotImplementedError

    def load_data_list(self) -> List[dict]:
        samples, names, where = self._samples()
        if not samples:
            raise ValueError(f'{type(self).__name__}: {where}: the {self.split} split '
                             'has no images')
        if names is not None and 'classes' not in self._metainfo:
            self._metainfo['classes'] = tuple(names)
        return [dict(img_path=osp.join(self.data_root, path), gt_label=int(label))
                for path, label in samples]


@DATASETS.register_module()
class CUB200Retrieval(_RetrievalDataset):
    """CUB-200-2011 for retrieval: train on the first 100 classes, test on the rest.

    Reads the ``CUB_200_2011`` directory as distributed: ``images.txt`` (``<image_id>
    <path under images/>``), ``image_class_labels.txt`` (``<image_id> <class_id>``),
    ``classes.txt`` (``<class_id> <name>``; optional, names only) and ``images/``. The
    train classes are the first half of the sorted distinct class ids. The official
    ``train_test_split.txt`` is a classification split and is not read.

    Args:
        data_root (str): the ``CUB_200_2011`` directory.
        split (str): ``'train'`` or ``'test'``.
        **kwargs: passed to mmpretrain's ``BaseDataset`` (``pipeline``, ``test_mode``,
            ``lazy_init``, ``serialize_data`` ...).
    """

    def __init__(self, data_root: str, split: str = 'train', **kwargs) -> None:
        self.split = _check_split(split, type(self).__name__)
        super().__init__(data_root, 'images.txt', **kwargs)

    def _read_ids(self, name: str, fmt: str) -> Dict[int, Tuple[str, int, str]]:
        """``{image_id: (text after the id, line number, line)}`` of ``name``."""
        path = osp.join(self.data_root, name)
        out = {}
        for lineno, line in _read_lines(path, type(self).__name__, fmt):
            parts = line.split(maxsplit=1)
            if len(parts) != 2:
                raise _malformed(path, lineno, line, fmt, 'expected two fields')
            key = _parse_int(parts[0], path, lineno, line, fmt, 1)
            if key in out:
                raise _malformed(path, lineno, line, fmt,
                                 f'id {key} already on line {out[key][1]}')
            out[key] = (parts[1], lineno, line)
        return out

    def _samples(self):
        cls = type(self).__name__
        _require_root(self.data_root, cls,
                      'images.txt, image_class_labels.txt, classes.txt and images/ '
                      '(the CUB_200_2011 directory)')
        images = self._read_ids('images.txt', CUB_IMAGES_FMT)
        labels_file = osp.join(self.data_root, 'image_class_labels.txt')
        labels = {}
        for key, (text, lineno, line) in self._read_ids('image_class_labels.txt',
                                                        CUB_LABELS_FMT).items():
            labels[key] = _parse_int(text, labels_file, lineno, line, CUB_LABELS_FMT, 1)
        unknown = sorted(set(labels) - set(images))
        if unknown:
            raise ValueError(
                f'{labels_file}: {len(unknown)} image ids are not in images.txt '
                f'(first: {unknown[:5]}); both files must list the same image ids')
        unlabeled = sorted(set(images) - set(labels))
        if unlabeled:
            raise ValueError(
                f'{labels_file}: {len(unlabeled)} image ids of images.txt have no class '
                f'(first: {unlabeled[:5]}); both files must list the same image ids')
        keep, where = half_split(labels.values(), self.split, labels_file)
        samples = [(osp.join('images', images[key][0]), labels[key] - 1)
                   for key in sorted(images) if labels[key] in keep]
        names = None
        if osp.isfile(osp.join(self.data_root, 'classes.txt')):
            names = {k: v[0] for k, v in
                     self._read_ids('classes.txt', CUB_CLASSES_FMT).items()}
        max_id = max(list(labels.values()) + list(names or ()), default=0)
        return samples, id_names(max_id, names), where


def _unwrap(value):
    """A MATLAB scalar or string as ``loadmat`` gives it (nested one-element arrays with
    ``squeeze_me=False``, plain values with ``squeeze_me=True``) as a plain value."""
    while isinstance(value, np.ndarray) and value.size == 1 and not value.dtype.names:
        value = value.reshape(-1)[0]
    if isinstance(value, np.ndarray) and value.size == 0:
        return ''
    return value.item() if isinstance(value, np.generic) else value


def _records(value) -> list:
    """The elements of a MATLAB struct array (either ``squeeze_me`` form, or the
    ``mat_struct`` objects of ``struct_as_record=False``)."""
    if isinstance(value, np.ndarray):
        if value.dtype.names:
            return list(value.reshape(-1))
        return [r for v in value.reshape(-1) for r in _records(v)]
    return [value]


def _field(record, name: str):
    if isinstance(record, np.void) and record.dtype.names:
        return record[name] if name in record.dtype.names else None
    return getattr(record, name, None)


def parse_cars_annos(mat: dict, path: str) -> Tuple[List[Tuple[str, int]],
                                                    Optional[List[str]]]:
    """``([(relative_im_path, class)], class_names or None)`` of a ``loadmat`` result
    of Stanford Cars' ``cars_annos.mat`` (``path`` names it in errors)."""
    if 'annotations' not in mat:
        raise ValueError(f'{path}: no variable \'annotations\'; expected {CARS_FMT}')
    items = []
    for i, rec in enumerate(_records(mat['annotations'])):
        rel, cls = _field(rec, 'relative_im_path'), _field(rec, 'class')
        if rel is None or cls is None:
            raise ValueError(
                f'{path}: annotations[{i}] lacks the field '
                f"{'relative_im_path' if rel is None else 'class'}; expected {CARS_FMT} "
                "(the devkit's cars_train_annos.mat / cars_test_annos.mat are "
                'classification files: use cars_annos.mat)')
        rel, cls = _unwrap(rel), _unwrap(cls)
        ok_cls = isinstance(cls, (int, float)) and not isinstance(cls, bool) and \
            float(cls).is_integer() and cls >= 1
        if not isinstance(rel, str) or not rel or not ok_cls:
            raise ValueError(
                f'{path}: annotations[{i}] has relative_im_path={rel!r} and '
                f'class={cls!r}; expected a relative image path and a class id >= 1')
        items.append((rel, int(cls)))
    names = None
    if 'class_names' in mat:
        raw = mat['class_names']
        raw = raw.reshape(-1) if isinstance(raw, np.ndarray) else [raw]
        names = [str(_unwrap(v)) for v in raw]
    return items, names


@DATASETS.register_module()
class Cars196Retrieval(_RetrievalDataset):
    """Stanford Cars (196 classes) for retrieval: train on classes 1..98, test on
    99..196.

    Reads ``data_root/cars_annos.mat`` (the annotation file of all 16,185 images, with
    ``relative_im_path`` such as ``car_ims/000001.jpg``); its ``test`` flag is the
    classification split and is ignored. Class names come from its ``class_names``
    when present, else the class ids. Needs scipy.

    Args:
        data_root (str): the directory holding ``cars_annos.mat`` and ``car_ims/``.
        split (str): ``'train'`` or ``'test'``.
        **kwargs: passed to mmpretrain's ``BaseDataset``.
    """

    def __init__(self, data_root: str, split: str = 'train', **kwargs) -> None:
        self.split = _check_split(split, type(self).__name__)
        super().__init__(data_root, 'cars_annos.mat', **kwargs)

    def _samples(self):
        cls = type(self).__name__
        _require_root(self.data_root, cls, 'cars_annos.mat and car_ims/ (Stanford Cars)')
        path = osp.join(self.data_root, 'cars_annos.mat')
        _require_file(path, cls, CARS_FMT)
        try:
            from scipy.io import loadmat
        except ImportError as e:
            raise ImportError(f'{cls} reads {path} with scipy: pip install scipy') from e
        try:
            mat = loadmat(path, squeeze_me=True)
        except Exception as e:  # scipy raises several types for a bad file
            raise ValueError(f'{path}: cannot be read as a MATLAB file ({e}); expected '
                             f'{CARS_FMT}') from e
        items, names = parse_cars_annos(mat, path)
        keep, where = half_split((c for _, c in items), self.split, path)
        samples = [(rel, c - 1) for rel, c in items if c in keep]
        max_id = max((c for _, c in items), default=0)
        if names is not None and len(names) < max_id:
            raise ValueError(f'{path}: class_names has {len(names)} names but the '
                             f'annotations use class ids up to {max_id}')
        names = names if names is not None else id_names(max_id)
        return samples, names, where


@DATASETS.register_module()
class SOPRetrieval(_RetrievalDataset):
    """Stanford Online Products for retrieval: ``Ebay_train.txt`` (11,318 classes) and
    ``Ebay_test.txt`` (11,316 classes) define the split.

    Each file has a header ``image_id class_id super_class_id path`` and one line per
    image with its path relative to ``data_root``. Both files are read: the other split
    only to check that no class is in both. Class names are the class ids.

    Args:
        data_root (str): the ``Stanford_Online_Products`` directory.
        split (str): ``'train'`` or ``'test'``.
        **kwargs: passed to mmpretrain's ``BaseDataset``.
    """

    def __init__(self, data_root: str, split: str = 'train', **kwargs) -> None:
        self.split = _check_split(split, type(self).__name__)
        super().__init__(data_root, f'Ebay_{split}.txt', **kwargs)

    def _read(self, split: str) -> List[Tuple[str, int]]:
        path = osp.join(self.data_root, f'Ebay_{split}.txt')
        items = []
        for k, (lineno, line) in enumerate(_read_lines(path, type(self).__name__,
                                                       SOP_FMT)):
            if k == 0 and line.split()[0] == 'image_id':
                continue  # the header
            parts = line.split(maxsplit=3)
            if len(parts) != 4:
                raise _malformed(path, lineno, line, SOP_FMT, 'expected four fields')
            for text in parts[:3]:
                _parse_int(text, path, lineno, line, SOP_FMT, 1)
            items.append((parts[3], int(parts[1])))
        return items

    def _samples(self):
        _require_root(self.data_root, type(self).__name__,
                      'Ebay_train.txt, Ebay_test.txt and the image folders '
                      '(Stanford_Online_Products)')
        other = 'test' if self.split == 'train' else 'train'
        items, other_items = self._read(self.split), self._read(other)
        check_disjoint((c for _, c in items), (c for _, c in other_items),
                       f"{osp.join(self.data_root, 'Ebay_train.txt')} and "
                       f"{osp.join(self.data_root, 'Ebay_test.txt')}")
        max_id = max((c for _, c in items + other_items), default=0)
        samples = [(rel, c - 1) for rel, c in items]
        return samples, id_names(max_id), osp.join(self.data_root,
                                                   f'Ebay_{self.split}.txt')


@DATASETS.register_module()
class RetrievalListDataset(_RetrievalDataset):
    """A retrieval split from a ``<image path> <label>`` list.

    The format ``tools/make_toy_data.py retrieval`` writes: ``data_root/train.txt``,
    ``val.txt`` and ``test.txt`` (class-disjoint) with lines
    ``images/<class>/<file>.png <label>`` (paths relative to ``data_root``), and
    ``classes.txt`` with one class name per line (line i names label i; optional).

    Args:
        data_root (str): the dataset directory.
        ann_file (str): this split's list, relative to ``data_root`` or absolute.
        other_ann_file (str, optional): another split's list (e.g. ``train.txt`` when
            ``ann_file`` is ``val.txt`` or ``test.txt``), read only to check that the two
            splits share no label.
        **kwargs: passed to mmpretrain's ``BaseDataset``.
    """

    def __init__(self, data_root: str, ann_file: str,
                 other_ann_file: Optional[str] = None, **kwargs) -> None:
        cls = type(self).__name__
        for field, value in (('ann_file', ann_file), ('other_ann_file', other_ann_file)):
            if (value is not None or field == 'ann_file') and \
                    (not isinstance(value, str) or not value):
                raise ValueError(f'{cls}: {field} must be the path of a '
                                 f'"<image path> <label>" list, got {value!r}')
        root = _check_root(data_root, cls)
        self.other_ann_file = (None if other_ann_file is None else
                               osp.join(root, osp.expanduser(other_ann_file)))
        self.split = osp.splitext(osp.basename(ann_file))[0]
        super().__init__(root, ann_file, **kwargs)

    def _read(self, path: str) -> List[Tuple[str, int]]:
        items = []
        for lineno, line in _read_lines(path, type(self).__name__, LIST_FMT):
            parts = line.rsplit(maxsplit=1)
            if len(parts) != 2:
                raise _malformed(path, lineno, line, LIST_FMT, 'expected two fields')
            items.append((parts[0], _parse_int(parts[1], path, lineno, line, LIST_FMT,
                                               0)))
        return items

    def _samples(self):
        _require_root(self.data_root, type(self).__name__,
                      f'the annotation list {self.ann_file!r} and its images')
        samples = self._read(self.ann_file)
        if self.other_ann_file is not None:
            check_disjoint((c for _, c in samples),
                           (c for _, c in self._read(self.other_ann_file)),
                           f'{self.ann_file} and {self.other_ann_file}')
        names = None
        classes_file = osp.join(self.data_root, 'classes.txt')
        if osp.isfile(classes_file):
            with open(classes_file, encoding='utf-8') as f:
                names = [line.strip() for line in f.read().rstrip('\n').split('\n')]
            top = max((c for _, c in samples), default=-1)
            if top >= len(names):
                raise ValueError(
                    f'{classes_file} names {len(names)} classes but {self.ann_file} '
                    f'uses label {top}; expected one class name per line, line i '
                    'naming label i')
        return samples, names, self.ann_file
