"""Toy mmpretrain ``CustomDataset`` classification, folder per class: 10 shape /
texture classes (:func:`make_cls`).

:func:`_cls_image` is the one function that draws an image; everything else here is
file layout.
"""
import math
import os

import numpy as np

from .common import (SPLITS, _check_int, _contrasting_color, _finish, _generate,
                     _gradient_bg, _image_rng, _lowfreq, _pattern_field, _place,
                     _render_shape, _save_png, _write_lines)

__all__ = ['CLS_CLASSES', 'make_cls']

# Alphabetical on purpose: mmpretrain's CustomDataset assigns labels in sorted
# folder order, so this tuple's order equals the label order it will use.
CLS_CLASSES = ('checker', 'circle', 'cross', 'dots', 'ring', 'square',
               'stripes_diag', 'stripes_horiz', 'stripes_vert', 'triangle')
CLS_MIN_IMG_SIZE = 16


def _cls_image(rng, name, size):
    """Draw one uint8 image of class ``name``."""
    img = _gradient_bg(rng, size)
    img += _lowfreq(rng, size, 3, 3) * rng.uniform(2, 12)
    k = size / 32.0
    if name in ('circle', 'cross', 'ring', 'square', 'triangle'):
        s = rng.uniform(0.4, 0.85) * size
        cx, cy = rng.uniform(0.3 * s, size - 0.3 * s, 2)
        mask, off = _render_shape(name, s, rng.uniform(0, 2 * math.pi),
                                  aspect=rng.uniform(0.8, 1.0),
                                  inner=rng.uniform(0.45, 0.6),
                                  arm=rng.uniform(0.2, 0.3))
        placed = _place((size, size), mask, off, cx, cy)
        col = _contrasting_color(rng, img[int(np.clip(cy, 0, size - 1)),
                                          int(np.clip(cx, 0, size - 1))])
        if placed is not None:
            sl, m = placed
            img[sl][m] = col
    else:
        deg = math.pi / 180
        if name == 'stripes_horiz':  # lines run horizontally
            kind, ang = 'stripes', math.pi / 2 + rng.uniform(-12, 12) * deg
        elif name == 'stripes_vert':
            kind, ang = 'stripes', rng.uniform(-12, 12) * deg
        elif name == 'stripes_diag':
            kind = 'stripes'
            ang = (45 if rng.random() < 0.5 else 135) * deg + \
                rng.uniform(-10, 10) * deg
        elif name == 'checker':
            kind, ang = 'checker', rng.uniform(-15, 15) * deg
        elif name == 'dots':
            kind, ang = 'dots', rng.uniform(0, math.pi / 2)
        else:
            raise ValueError(name)
        period = rng.uniform(4.0, 8.0) * k if kind != 'checker' else \
            rng.uniform(2.5, 5.0) * k
        field = _pattern_field(kind, size, rng, period, ang)
        c1 = rng.uniform(0, 255, 3).astype(np.float32)
        c2 = _contrasting_color(rng, c1, 60)
        tex = np.where(field[..., None], c1, c2)
        if rng.random() < 0.4:
            region = np.ones((size, size), bool)
        else:  # textured patch at random position / scale
            rx, ry = rng.uniform(0.3, 0.6, 2) * size
            cx, cy = rng.uniform(0.3, 0.7, 2) * size
            yy, xx = np.mgrid[0:size, 0:size]
            region = ((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2 <= 1
        img[region] = tex[region]
    return _finish(img, rng, rng.uniform(4, 14))


def make_cls(out_dir, num_train_per_class=100, num_val_per_class=20,
             num_test_per_class=20, img_size=32, seed=0, overwrite=False):
    """Write an mmpretrain ``CustomDataset`` toy classification dataset with disjoint
    train / val / test.

    Layout::

        out_dir/{train,val,test}/<class_name>/000000.png
        out_dir/meta/classes.txt   (one class per line, CLS_CLASSES order)
        out_dir/meta.json

    :data:`CLS_CLASSES` is sorted, so it matches CustomDataset's
    folder-order labels. Returns a dict with ``<split>_dir`` for each split,
    ``classes_file``, per-split stats, ``skipped`` and ``seconds``.
    """
    args = dict(
        num_train_per_class=_check_int('num_train_per_class',
                                       num_train_per_class, 1),
        num_val_per_class=_check_int('num_val_per_class', num_val_per_class,
                                     1),
        num_test_per_class=_check_int('num_test_per_class', num_test_per_class,
                                      1),
        img_size=_check_int('img_size', img_size, CLS_MIN_IMG_SIZE),
        seed=_check_int('seed', seed, 0))

    def body(root):
        os.makedirs(os.path.join(root, 'meta'))
        _write_lines(CLS_CLASSES, os.path.join(root, 'meta', 'classes.txt'))
        stats = {'classes': list(CLS_CLASSES)}
        for split in SPLITS:
            num = args[f'num_{split}_per_class']
            for name in CLS_CLASSES:
                d = os.path.join(root, split, name)
                os.makedirs(d)
                for idx in range(num):
                    rng = _image_rng(args['seed'], 'cls',
                                     f'{split}/{name}', idx)
                    _save_png(_cls_image(rng, name, args['img_size']),
                              os.path.join(d, f'{idx:06d}.png'))
            stats[split] = dict(num_images=num * len(CLS_CLASSES),
                                num_per_class=num)
        stats['classes_file'] = 'meta/classes.txt'
        return stats

    res = _generate(out_dir, 'cls', args, overwrite, body)
    for split in SPLITS:
        res[f'{split}_dir'] = os.path.join(res['out_dir'], split)
    res['classes_file'] = os.path.join(res['out_dir'], 'meta', 'classes.txt')
    return res
