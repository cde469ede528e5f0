"""Toy CUB-200-style metric-learning data with class-disjoint train / val / test
(:func:`make_retrieval`).

A class is one combination of three factors: a shape (:data:`RETRIEVAL_SHAPES`), a
fill pattern (:data:`RETRIEVAL_PATTERNS`) and a colour family of the shape
(:data:`RETRIEVAL_COLORS`), 8 x 6 x 3 = 144 classes. Class ``i`` (0-based label) is
the combination number ``k = 89 * i mod 144`` (``shape = k % 8``, ``pattern =
k // 8 % 6``, ``colour = k // 48``): 89 is coprime with 144, so every class is used
once, and any 10 consecutive classes show all 8 shapes, 6 patterns and 3 colours,
each shared by several classes, so no one factor tells a class apart.

Train takes the first classes, then val, then test: the classes of a split, their
labels and their images do not depend on the sizes of the splits after it.

:func:`_retrieval_image` is the one function that draws an image; everything else
here is the class space and file layout.
"""
import colorsys
import math
import os

import numpy as np

from .common import (SPLITS, _check_int, _erode, _finish, _generate, _gradient_bg,
                     _image_rng, _lowfreq, _pattern_field, _place, _render_shape,
                     _save_png, _write_lines)

__all__ = ['RETRIEVAL_SHAPES', 'RETRIEVAL_PATTERNS', 'RETRIEVAL_COLORS',
           'RETRIEVAL_NUM_CLASSES', 'RETRIEVAL_MAX_CLASSES', 'retrieval_classes',
           'make_retrieval']

RETRIEVAL_SHAPES = ('circle', 'square', 'triangle', 'cross', 'ring', 'star',
                    'hexagon', 'crescent')
RETRIEVAL_PATTERNS = ('solid', 'striped', 'dotted', 'checkered', 'outlined',
                      'gridded')
# colour family of the shape: name -> hue centre in degrees (+-20 degrees drawn)
RETRIEVAL_COLORS = ('red', 'green', 'blue')
_COLOR_HUE = {'red': 0.0, 'green': 120.0, 'blue': 240.0}
_HUE_SPREAD = 20.0
# default number of classes of each split (train, val, test)
RETRIEVAL_NUM_CLASSES = 20
RETRIEVAL_MAX_CLASSES = (len(RETRIEVAL_SHAPES) * len(RETRIEVAL_PATTERNS) *
                         len(RETRIEVAL_COLORS))
RETRIEVAL_MIN_IMG_SIZE = 32
_ORDER_STEP = 89  # coprime with RETRIEVAL_MAX_CLASSES: see the module docstring


def _class_factors(label):
    """``(shape, pattern, colour)`` of class ``label`` (0-based)."""
    k = (_ORDER_STEP * label) % RETRIEVAL_MAX_CLASSES
    ns, npat = len(RETRIEVAL_SHAPES), len(RETRIEVAL_PATTERNS)
    return (RETRIEVAL_SHAPES[k % ns], RETRIEVAL_PATTERNS[k // ns % npat],
            RETRIEVAL_COLORS[k // (ns * npat)])


def retrieval_classes(num_classes=RETRIEVAL_MAX_CLASSES):
    """The first ``num_classes`` class names ``'001.<shape>_<pattern>_<colour>'``
    (CUB style), in label order."""
    n = _check_int('num_classes', num_classes, 1)
    if n > RETRIEVAL_MAX_CLASSES:
        raise ValueError(f'num_classes must be <= {RETRIEVAL_MAX_CLASSES}, '
                         f'got {n}')
    return tuple(f'{i + 1:03d}.' + '_'.join(_class_factors(i)) for i in range(n))


def _family_color(rng, family, ref, min_dist=80.0, tries=10):
    """A colour of hue family ``family``, at least ``min_dist`` from ``ref`` if found
    within ``tries``."""
    ref = np.asarray(ref, dtype=np.float32)
    for _ in range(tries):
        hue = (_COLOR_HUE[family] + rng.uniform(-_HUE_SPREAD, _HUE_SPREAD)) / 360.0
        rgb = colorsys.hsv_to_rgb(hue % 1.0, rng.uniform(0.6, 1.0),
                                  rng.uniform(0.55, 1.0))
        col = np.array(rgb, dtype=np.float32) * 255.0
        if np.linalg.norm(col - ref) >= min_dist:
            break
    return col


def _neutral_color(rng, fg, min_diff=70.0):
    """A near-grey colour whose brightness differs from ``fg``'s by ``min_diff``: the
    second colour of a pattern carries no hue, so the colour family stays the
    shape's."""
    lum = float(np.dot(fg, [0.299, 0.587, 0.114]))
    lo, hi = (20.0, max(20.0, lum - min_diff)), (min(235.0, lum + min_diff), 235.0)
    len_lo, len_hi = lo[1] - lo[0], hi[1] - hi[0]
    u = rng.uniform(0, max(len_lo + len_hi, 1e-6))
    grey = lo[0] + u if u < len_lo else hi[0] + (u - len_lo)
    return np.clip(grey + rng.normal(0, 5, 3), 0, 255).astype(np.float32)


def _retrieval_image(rng, shape, pattern, color, size):
    """Draw one uint8 image of the class ``(shape, pattern, color)``."""
    img = _gradient_bg(rng, size)
    img += _lowfreq(rng, size, int(rng.integers(3, 6)), 3) * \
        rng.uniform(3, 15)
    s = rng.uniform(0.55, 0.9) * size
    cx, cy = size / 2 + rng.normal(0, 0.06 * size, 2)
    mask, off = _render_shape(shape, s, rng.uniform(0, 2 * math.pi),
                              aspect=rng.uniform(0.85, 1.0),
                              inner=rng.uniform(0.45, 0.6),
                              arm=rng.uniform(0.22, 0.32))
    placed = _place((size, size), mask, off, cx, cy)
    fg = _family_color(rng, color, img[size // 2, size // 2])
    sec = _neutral_color(rng, fg)
    if placed is not None:
        sl, m = placed
        h, w = m.shape
        k = size / 64.0
        if pattern == 'solid':
            pm = np.ones_like(m)
        elif pattern == 'outlined':
            pm = m & ~_erode(m, int(rng.integers(2, 4) * max(1.0, k)))
            img[sl][m & ~pm] = sec
        else:
            kind = {'striped': 'stripes', 'dotted': 'dots',
                    'checkered': 'checker', 'gridded': 'grid'}[pattern]
            period = rng.uniform(5, 9) * k
            field = _pattern_field(kind, max(h, w), rng, period,
                                   rng.uniform(0, math.pi))[:h, :w]
            img[sl][m & ~field] = sec
            pm = field
        img[sl][m & pm] = fg
    return _finish(img, rng, rng.uniform(3, 12))


def make_retrieval(out_dir, num_train_classes=RETRIEVAL_NUM_CLASSES,
                   num_val_classes=RETRIEVAL_NUM_CLASSES,
                   num_test_classes=RETRIEVAL_NUM_CLASSES, imgs_per_class=30,
                   img_size=64, seed=0, overwrite=False):
    """Write a CUB-200-style toy retrieval dataset with class-disjoint train / val /
    test.

    Layout::

        out_dir/images/<class_name>/0000.png
        out_dir/train.txt   'images/<class_name>/<file>.png <label>' for the
                            first num_train_classes classes
        out_dir/val.txt     the same for the next num_val_classes classes
        out_dir/test.txt    the same for the last num_test_classes classes
        out_dir/classes.txt one class name per line (line i = label i)
        out_dir/meta.json

    Labels are global class ids ``0 .. total - 1`` (train, then val, then test); the
    three class counts together are at most :data:`RETRIEVAL_MAX_CLASSES`. Returns a
    dict with ``<split>_ann_file`` for each split, ``img_dir``, ``classes_file``,
    per-split stats (``num_images``, ``classes``: the labels), ``skipped`` and
    ``seconds``.
    """
    args = dict(
        num_train_classes=_check_int('num_train_classes', num_train_classes, 1),
        num_val_classes=_check_int('num_val_classes', num_val_classes, 1),
        num_test_classes=_check_int('num_test_classes', num_test_classes, 1),
        imgs_per_class=_check_int('imgs_per_class', imgs_per_class, 2),
        img_size=_check_int('img_size', img_size, RETRIEVAL_MIN_IMG_SIZE),
        seed=_check_int('seed', seed, 0))
    counts = [args[f'num_{split}_classes'] for split in SPLITS]
    if sum(counts) > RETRIEVAL_MAX_CLASSES:
        raise ValueError(
            'num_train_classes + num_val_classes + num_test_classes must be <= '
            f'{RETRIEVAL_MAX_CLASSES}, got {" + ".join(map(str, counts))} = '
            f'{sum(counts)}')
    names = retrieval_classes(sum(counts))
    first = {'train': 0, 'val': counts[0], 'test': counts[0] + counts[1]}
    labels = {split: list(range(first[split], first[split] + n))
              for split, n in zip(SPLITS, counts)}

    def body(root):
        stats = {'classes': list(names)}
        for split in SPLITS:
            lines = []
            for label in labels[split]:
                name = names[label]
                shape, pattern, color = _class_factors(label)
                d = os.path.join(root, 'images', name)
                os.makedirs(d)
                for j in range(args['imgs_per_class']):
                    rng = _image_rng(args['seed'], 'retrieval', name, j)
                    fname = f'{j:04d}.png'
                    _save_png(_retrieval_image(rng, shape, pattern, color,
                                               args['img_size']),
                              os.path.join(d, fname))
                    lines.append(f'images/{name}/{fname} {label}')
            _write_lines(lines, os.path.join(root, f'{split}.txt'))
            stats[split] = dict(num_images=len(lines), classes=labels[split],
                                ann_file=f'{split}.txt')
        _write_lines(names, os.path.join(root, 'classes.txt'))
        stats['classes_file'] = 'classes.txt'
        return stats

    res = _generate(out_dir, 'retrieval', args, overwrite, body)
    for split in SPLITS:
        res[f'{split}_ann_file'] = os.path.join(res['out_dir'], f'{split}.txt')
    res['img_dir'] = os.path.join(res['out_dir'], 'images')
    res['classes_file'] = os.path.join(res['out_dir'], 'classes.txt')
    return res
