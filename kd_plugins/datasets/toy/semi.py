"""Labeled / unlabeled split of a COCO annotation file for semi-supervised detection
(:func:`split_det_semi`), with mmdet's file naming (:func:`semi_split_names`).
Works on the toy detection set and on any real COCO-format file.
"""
import json
import os
import zlib

import numpy as np

from .common import _check_int, _dump_json

__all__ = ['semi_split_names', 'split_det_semi']


def semi_split_names(ann_file, percent, seed):
    """mmdet's names for a partial-label split of ``ann_file``:
    ``<stem>.<seed>@<percent>.json`` and ``<stem>.<seed>@<percent>-unlabeled.json``."""
    stem = os.path.splitext(ann_file)[0]
    tag = f'{seed}@{percent:g}'
    return f'{stem}.{tag}.json', f'{stem}.{tag}-unlabeled.json'


def split_det_semi(ann_file, percent=10, seed=0):
    """Split a COCO annotation file into a labeled part and an unlabeled part.

    ``percent`` of the images (at least one, never all) keep their boxes; the rest go to
    the unlabeled file with their image entries only (``annotations`` empty), so nothing
    downstream can read a box of an unlabeled image. The split is seeded, works on any
    COCO-format file (the toy one or a real ``instances_train2017.json``) and follows
    the file naming of mmdet's semi-supervised configs. Files are written atomically
    beside ``ann_file``. Returns the two paths and the image counts.
    """
    if isinstance(percent, bool) or not isinstance(percent, (int, float)) or \
            not 0 < percent < 100:
        raise ValueError(f'percent must be a number in (0, 100), got {percent!r}')
    seed = _check_int('seed', seed, 0)
    try:
        with open(ann_file, encoding='utf-8') as f:
            coco = json.load(f)
    except OSError as e:
        raise ValueError(f'annotation file {ann_file!r} cannot be read: {e}') from e
    except ValueError as e:
        raise ValueError(f'annotation file {ann_file!r} is not JSON: {e}') from e
    images = coco.get('images') if isinstance(coco, dict) else None
    if not isinstance(images, list) or len(images) < 2:
        raise ValueError(f'annotation file {ann_file!r}: expected a COCO dict whose '
                         '"images" list holds at least 2 images')
    ids = sorted(img['id'] for img in images)
    num_labeled = min(len(ids) - 1, max(1, round(len(ids) * percent / 100.0)))
    rng = np.random.default_rng([seed, zlib.crc32(b'semi-split')])
    labeled = set(rng.choice(ids, size=num_labeled, replace=False).tolist())
    common = {k: v for k, v in coco.items() if k not in ('images', 'annotations')}
    parts = {
        True: dict(common, images=[i for i in images if i['id'] in labeled],
                   annotations=[a for a in coco.get('annotations', [])
                                if a['image_id'] in labeled]),
        False: dict(common, images=[i for i in images if i['id'] not in labeled],
                    annotations=[]),
    }
    paths = semi_split_names(ann_file, percent, seed)
    for path, key in zip(paths, (True, False)):
        tmp = f'{path}.tmp'
        _dump_json(parts[key], tmp)
        os.replace(tmp, path)
    return dict(labeled=paths[0], unlabeled=paths[1], num_labeled=num_labeled,
                num_unlabeled=len(ids) - num_labeled,
                num_labeled_boxes=len(parts[True]['annotations']))
