"""Toy COCO-style object detection: 5 shape classes, 1-5 objects of 10-40 % of the image
side per image, some overlap, a little clutter, textured backgrounds, mild pixel noise
(:func:`make_det`).

Calibrated for protocol v2 (issue 16; the checks are printed in the footer of
benchmarks/detection-toy-det-cpu2.md): on the v1 content (2-12 objects from 6 px, 2-8
distractors, 35 % overlap, noise sigma 3-12) the toy teacher reached 0.13 bbox mAP and
differences between students were noise around a model that barely detects
(benchmarks/history/2026-11-29-protocol-v1/).

Detection box rule
    Objects are painted in random order together with unannotated distractors,
    so later paint occludes earlier paint.  An object's box is the tight extent
    of its pixels that are still visible in the final image (clipped to the
    image).  An object is annotated only if its visible pixel count is at least
    ``DET_MIN_VISIBLE_FRACTION`` (30 %) of the pixel count of its full drawn
    shape (including any part that falls outside the image); more occluded or
    clipped objects stay in the image unannotated.  Every image has at least
    one annotation.

:func:`_det_image` is the one function that draws an image and its boxes; everything
else here is file layout.
"""
import math
import os

import numpy as np
from PIL import Image, ImageDraw

from .common import (FORMAT_VERSION, SPLITS, _check_int, _contrasting_color,
                     _dump_json, _finish, _generate, _gradient_bg, _image_rng,
                     _lowfreq, _place, _poly, _render_shape, _rot, _save_png,
                     loader_options)

__all__ = ['DET_CLASSES', 'DET_MIN_VISIBLE_FRACTION', 'make_det', 'det_loader_options']

DET_CLASSES = ('circle', 'square', 'triangle', 'cross', 'ring')
DET_MIN_VISIBLE_FRACTION = 0.3
DET_MIN_IMG_SIZE = 32


def _det_background(rng, size):
    img = _gradient_bg(rng, size)
    img += _lowfreq(rng, size, int(rng.integers(3, 9)), 3) * \
        rng.uniform(4, 22)
    if rng.random() < 0.5:  # faint periodic texture
        yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
        th = rng.uniform(0, math.pi)
        period = rng.uniform(4, 16)
        wave = np.sin((xx * math.cos(th) + yy * math.sin(th)) *
                      (2 * math.pi / period) + rng.uniform(0, 2 * math.pi))
        img += (wave * rng.uniform(4, 14))[..., None]
    return img


def _det_distractor(rng, size, colors):
    """Full-size mask and colour of one unannotated clutter item."""
    im = Image.new('L', (size, size), 0)
    d = ImageDraw.Draw(im)
    kind = rng.integers(0, 4)
    if kind == 0:  # straight stroke
        p = rng.uniform(-0.1 * size, 1.1 * size, 4)
        d.line([(p[0], p[1]), (p[2], p[3])], fill=255,
               width=int(rng.integers(1, 4)))
    elif kind == 1:  # zig-zag polyline
        n = int(rng.integers(3, 7))
        start = rng.uniform(0, size, 2)
        steps = rng.normal(0, size * 0.12, (n, 2))
        pts = np.cumsum(np.vstack([start, steps]), axis=0)
        d.line([(float(x), float(y)) for x, y in pts], fill=255,
               width=int(rng.integers(1, 3)))
    elif kind == 2:  # arc (looks a bit like part of a ring)
        cx, cy = rng.uniform(0, size, 2)
        r = rng.uniform(5, size * 0.3)
        a0 = rng.uniform(0, 360)
        d.arc([cx - r, cy - r, cx + r, cy + r], a0,
              a0 + rng.uniform(60, 250), fill=255,
              width=int(rng.integers(1, 4)))
    else:  # irregular blob
        cx, cy = rng.uniform(0, size, 2)
        r = rng.uniform(3, size * 0.12)
        n = int(rng.integers(7, 13))
        t = np.sort(rng.uniform(0, 2 * math.pi, n))
        rr = r * rng.uniform(0.35, 1.0, n)
        ax = rng.uniform(0.4, 1.0)
        pts = np.stack([rr * np.cos(t), ax * rr * np.sin(t)], 1)
        _poly(d, _rot(pts, rng.uniform(0, math.pi)), cx, cy, 255)
    mask = np.asarray(im) > 0
    if colors and rng.random() < 0.6:  # colour similar to an object
        col = colors[int(rng.integers(len(colors)))] + rng.normal(0, 12, 3)
    else:
        col = rng.uniform(0, 255, 3)
    return mask, np.clip(col, 0, 255).astype(np.float32)


def _det_try(rng, size):
    img = _det_background(rng, size)
    owner = np.full((size, size), -1, dtype=np.int32)
    n_obj = int(rng.integers(1, 6))
    n_dis = int(rng.integers(0, 3))
    order = np.array([0] * n_obj + [1] * n_dis)
    rng.shuffle(order)
    min_size, max_size = max(4.0, 0.1 * size), max(8.0, 0.4 * size)
    objs, colors = [], []
    for item in order:
        if item == 1:
            mask, col = _det_distractor(rng, size, colors)
            img[mask] = col
            owner[mask] = -1
            continue
        cls = int(rng.integers(len(DET_CLASSES)))
        s = float(math.exp(rng.uniform(math.log(min_size), math.log(max_size))))
        if objs and rng.random() < 0.1:  # deliberately overlap a neighbour
            prev = objs[int(rng.integers(len(objs)))]
            ang = rng.uniform(0, 2 * math.pi)
            dist = (prev['size'] + s) * rng.uniform(0.2, 0.45)
            cx = prev['cx'] + dist * math.cos(ang)
            cy = prev['cy'] + dist * math.sin(ang)
        else:
            cx, cy = rng.uniform(0, size, 2)
        mask, off = _render_shape(
            DET_CLASSES[cls], s, rng.uniform(0, 2 * math.pi),
            aspect=rng.uniform(0.8, 1.0), inner=rng.uniform(0.45, 0.65),
            arm=rng.uniform(0.2, 0.32))
        drawn = int(mask.sum())
        placed = _place((size, size), mask, off, cx, cy)
        ix = int(np.clip(cx, 0, size - 1))
        iy = int(np.clip(cy, 0, size - 1))
        col = _contrasting_color(rng, img[iy, ix])
        colors.append(col)
        objs.append(dict(cls=cls, size=s, cx=cx, cy=cy, drawn=drawn,
                         placed=placed))
        if placed is None or drawn == 0:
            continue
        sl, m = placed
        shade = rng.uniform(-18, 18)
        img[sl][m] = np.clip(col + shade, 0, 255)
        owner[sl][m] = len(objs) - 1

    anns, dropped = [], 0
    for i, o in enumerate(objs):
        if o['placed'] is None or o['drawn'] == 0:
            dropped += 1
            continue
        sl = o['placed'][0]
        vis = owner[sl] == i
        n_vis = int(vis.sum())
        if n_vis == 0 or n_vis < DET_MIN_VISIBLE_FRACTION * o['drawn']:
            dropped += 1
            continue
        ys, xs = np.nonzero(vis)
        x0 = int(xs.min()) + sl[1].start
        y0 = int(ys.min()) + sl[0].start
        x1 = int(xs.max()) + sl[1].start + 1
        y1 = int(ys.max()) + sl[0].start + 1
        anns.append(dict(cls=o['cls'], bbox=[float(x0), float(y0),
                                             float(x1 - x0),
                                             float(y1 - y0)],
                         area=float(n_vis)))
    return img, anns, dropped


def _det_image(rng, size):
    """Draw one image: ``(uint8 HxWx3 image, [dict(cls, bbox, area)], dropped)``,
    ``dropped`` counting the objects left unannotated by the box rule."""
    for _ in range(20):
        img, anns, dropped = _det_try(rng, size)
        if anns:
            break
    else:  # pragma: no cover - practically unreachable
        raise RuntimeError('could not generate an annotated image')
    return _finish(img, rng, rng.uniform(2, 4)), anns, dropped


def make_det(out_dir, num_train=800, num_val=200, num_test=200, img_size=160,
             seed=0, overwrite=False):
    """Write a COCO-format toy detection dataset with disjoint train / val / test.

    Layout::

        out_dir/{train,val,test}/000000.png ...
        out_dir/annotations/{train,val,test}.json   (COCO; file_name is relative
                                                     to the split's folder)
        out_dir/meta.json

    Returns a dict with paths (``<split>_img_dir``, ``<split>_ann_file`` for each
    split), per-split stats, ``skipped`` and ``seconds``.
    """
    args = dict(
        num_train=_check_int('num_train', num_train, 1),
        num_val=_check_int('num_val', num_val, 1),
        num_test=_check_int('num_test', num_test, 1),
        img_size=_check_int('img_size', img_size, DET_MIN_IMG_SIZE),
        seed=_check_int('seed', seed, 0))
    categories = [dict(id=i + 1, name=n, supercategory='shape')
                  for i, n in enumerate(DET_CLASSES)]

    def body(root):
        os.makedirs(os.path.join(root, 'annotations'))
        stats = {'classes': list(DET_CLASSES)}
        for split in SPLITS:
            num = args[f'num_{split}']
            img_dir = os.path.join(root, split)
            os.makedirs(img_dir)
            images, annotations = [], []
            per_class = [0] * len(DET_CLASSES)
            n_small = n_dropped = 0
            for idx in range(num):
                rng = _image_rng(args['seed'], 'det', split, idx)
                img, anns, dropped = _det_image(rng, args['img_size'])
                n_dropped += dropped
                fname = f'{idx:06d}.png'
                _save_png(img, os.path.join(img_dir, fname))
                image_id = idx + 1
                images.append(dict(id=image_id, file_name=fname,
                                   width=args['img_size'],
                                   height=args['img_size']))
                for a in anns:
                    per_class[a['cls']] += 1
                    n_small += a['area'] < 16 * 16
                    annotations.append(dict(
                        id=len(annotations) + 1, image_id=image_id,
                        category_id=a['cls'] + 1, bbox=a['bbox'],
                        area=a['area'], iscrowd=0))
            coco = dict(
                info=dict(description='kd_plugins toy detection '
                          f'({split})', version=str(FORMAT_VERSION)),
                licenses=[], images=images, annotations=annotations,
                categories=categories)
            _dump_json(coco, os.path.join(root, 'annotations',
                                          f'{split}.json'))
            stats[split] = dict(
                num_images=num, num_annotations=len(annotations),
                num_small=int(n_small), num_unannotated_occluded=n_dropped,
                per_class=dict(zip(DET_CLASSES, per_class)),
                img_dir=split, ann_file=f'annotations/{split}.json')
        return stats

    res = _generate(out_dir, 'det', args, overwrite, body)
    for split in SPLITS:
        res[f'{split}_img_dir'] = os.path.join(res['out_dir'], split)
        res[f'{split}_ann_file'] = os.path.join(res['out_dir'],
                                                'annotations', f'{split}.json')
    return res


def det_loader_options(data_root, batch_size=None):
    """:func:`~.common.loader_options` of a toy detection set plus its COCO evaluators'
    annotation files (``val`` / ``test``), which are not under the loaders' data root."""
    opts = loader_options(data_root, batch_size)
    root = data_root.rstrip('/') + '/'
    for split in ('val', 'test'):
        opts[f'{split}_evaluator.ann_file'] = root + f'annotations/{split}.json'
    return opts
