"""Seeded, deterministic toy datasets in the OpenMMLab on-disk formats.

Everything here depends only on numpy, Pillow and the standard library, so it
can be imported (and the data generated) without torch / mmengine.

Four generators are provided:

* :func:`make_det` - COCO-style object detection (5 shape classes, many small
  objects, occlusion, clutter, textured backgrounds, pixel noise).
* :func:`make_seg` - mmseg ``img_dir`` / ``ann_dir`` semantic segmentation with
  histology-like "cells" (class 1, often touching) and lobed "glands" with a
  thin dark membrane (class 2).
* :func:`make_cls` - mmpretrain ``CustomDataset`` folder-per-class layout, 10
  shape / texture classes.
* :func:`make_retrieval` - CUB-200-style metric learning data with
  class-disjoint ``train`` / ``test`` splits.

Determinism
    Every image is drawn from its own ``numpy.random.default_rng`` seeded with
    ``(seed, kind, split, index)``, so the same arguments always give
    byte-identical files and, e.g., changing ``num_train`` does not change any
    validation image.

Atomicity / caching
    Data is written into ``<out_dir>.tmp-<pid>`` and moved into place with
    ``os.replace`` at the end.  ``<out_dir>/meta.json`` records the format
    version, the kind and the arguments.  Calling a generator again with the
    same arguments is a no-op (``result['skipped'] is True``); calling it with
    different arguments raises ``ValueError`` unless ``overwrite=True``.

Detection box rule
    Objects are painted in random order together with unannotated distractors,
    so later paint occludes earlier paint.  An object's box is the tight extent
    of its pixels that are still visible in the final image (clipped to the
    image).  An object is annotated only if its visible pixel count is at least
    ``DET_MIN_VISIBLE_FRACTION`` (30 %) of the pixel count of its full drawn
    shape (including any part that falls outside the image); more occluded or
    clipped objects stay in the image unannotated.  Every image has at least
    one annotation.
"""
import json
import math
import os
import shutil
import time
import zlib

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

__all__ = [
    'loader_options',
    'FORMAT_VERSION', 'DET_CLASSES', 'SEG_CLASSES', 'SEG_PALETTE',
    'CLS_CLASSES', 'RETRIEVAL_SHAPES', 'RETRIEVAL_PATTERNS',
    'RETRIEVAL_NUM_CLASSES', 'DET_MIN_VISIBLE_FRACTION', 'retrieval_classes',
    'make_det', 'make_seg', 'make_cls', 'make_retrieval'
]

FORMAT_VERSION = 1

DET_CLASSES = ('circle', 'square', 'triangle', 'cross', 'ring')
DET_MIN_VISIBLE_FRACTION = 0.3
DET_MIN_IMG_SIZE = 32

SEG_CLASSES = ('background', 'cell', 'gland')
SEG_PALETTE = [[0, 0, 0], [255, 0, 0], [0, 255, 0]]
SEG_MIN_IMG_SIZE = 32

# Alphabetical on purpose: mmpretrain's CustomDataset assigns labels in sorted
# folder order, so this tuple's order equals the label order it will use.
CLS_CLASSES = ('checker', 'circle', 'cross', 'dots', 'ring', 'square',
               'stripes_diag', 'stripes_horiz', 'stripes_vert', 'triangle')
CLS_MIN_IMG_SIZE = 16

RETRIEVAL_SHAPES = ('circle', 'square', 'triangle', 'cross', 'ring', 'star',
                    'hexagon', 'crescent')
RETRIEVAL_PATTERNS = ('solid', 'striped', 'dotted', 'checkered', 'outlined',
                      'gridded')
RETRIEVAL_NUM_CLASSES = 20
RETRIEVAL_MAX_CLASSES = len(RETRIEVAL_SHAPES) * len(RETRIEVAL_PATTERNS)
RETRIEVAL_MIN_IMG_SIZE = 32


# ---------------------------------------------------------------------------
# generic helpers
# ---------------------------------------------------------------------------
def loader_options(data_root, batch_size=None):
    """``--cfg-options`` (a dict) that point a toy config's train / val / test loaders
    at ``data_root`` with no worker processes (tests, the service's toy student);
    ``batch_size`` for all three when given."""
    root = data_root.rstrip('/') + '/'
    opts = {}
    for split in ('train', 'val', 'test'):
        key = f'{split}_dataloader'
        opts[f'{key}.dataset.data_root'] = root
        opts[f'{key}.num_workers'] = 0
        opts[f'{key}.persistent_workers'] = False
        if batch_size is not None:
            opts[f'{key}.batch_size'] = batch_size
    return opts


def _image_rng(seed, kind, split, index):
    """Independent generator for one image, stable across dataset sizes."""
    return np.random.default_rng([
        int(seed),
        zlib.crc32(kind.encode('utf-8')),
        zlib.crc32(split.encode('utf-8')),
        int(index)
    ])


def _check_int(name, value, minimum):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f'{name} must be an integer, got {value!r}')
    if value < minimum:
        raise ValueError(f'{name} must be >= {minimum}, got {value}')
    return int(value)


def _save_png(arr, path):
    Image.fromarray(arr).save(path, format='PNG', compress_level=6)


def _dump_json(obj, path):
    with open(path, 'w', encoding='utf-8') as f:
        json.dump(obj, f, separators=(',', ':'), sort_keys=False)
        f.write('\n')


def _read_meta(out_dir):
    path = os.path.join(out_dir, 'meta.json')
    try:
        with open(path, encoding='utf-8') as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def _meta_matches(meta, kind, args):
    return (isinstance(meta, dict)
            and meta.get('format_version') == FORMAT_VERSION
            and meta.get('kind') == kind and meta.get('args') == args)


def _result(out_dir, meta, skipped, seconds):
    res = dict(meta.get('stats', {}))
    res.update(
        kind=meta['kind'],
        out_dir=out_dir,
        args=dict(meta['args']),
        skipped=skipped,
        seconds=round(seconds, 3))
    return res


def _generate(out_dir, kind, args, overwrite, body):
    """Run ``body(tmp_dir) -> stats`` and install the result atomically."""
    out_dir = os.path.abspath(os.fspath(out_dir))
    t0 = time.perf_counter()
    if os.path.lexists(out_dir):
        meta = _read_meta(out_dir)
        if _meta_matches(meta, kind, args):
            return _result(out_dir, meta, True, time.perf_counter() - t0)
        empty_dir = os.path.isdir(out_dir) and not os.listdir(out_dir)
        if not overwrite and not empty_dir:
            if meta is None:
                why = 'has no valid meta.json (not a toy dataset?)'
            else:
                why = (f"was generated with different arguments "
                       f"(kind={meta.get('kind')!r}, "
                       f"format_version={meta.get('format_version')!r}, "
                       f"args={meta.get('args')!r}; requested kind={kind!r}, "
                       f'args={args!r})')
            raise ValueError(
                f'{out_dir} already exists and {why}; pass overwrite=True '
                '(CLI: --overwrite) to replace it, or choose another '
                'output directory')

    parent = os.path.dirname(out_dir)
    os.makedirs(parent, exist_ok=True)
    tmp = f'{out_dir}.tmp-{os.getpid()}'
    if os.path.lexists(tmp):
        shutil.rmtree(tmp)
    os.makedirs(tmp)
    try:
        stats = body(tmp)
        meta = {
            'format_version': FORMAT_VERSION,
            'kind': kind,
            'args': args,
            'stats': stats
        }
        _dump_json(meta, os.path.join(tmp, 'meta.json'))
        skipped = _install(tmp, out_dir, kind, args)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if skipped:  # another process installed identical data meanwhile
        meta = _read_meta(out_dir)
    return _result(out_dir, meta, skipped, time.perf_counter() - t0)


def _install(tmp, out_dir, kind, args):
    old = None
    if os.path.lexists(out_dir):
        if os.path.isdir(out_dir) and not os.path.islink(out_dir):
            if os.listdir(out_dir):
                old = f'{out_dir}.old-{os.getpid()}'
                if os.path.lexists(old):
                    shutil.rmtree(old)
                os.replace(out_dir, old)
            else:
                os.rmdir(out_dir)
        else:
            os.remove(out_dir)
    try:
        os.replace(tmp, out_dir)
    except OSError:
        # Someone else created out_dir between our checks and the rename.
        if _meta_matches(_read_meta(out_dir), kind, args):
            shutil.rmtree(tmp, ignore_errors=True)
            if old is not None:
                shutil.rmtree(old, ignore_errors=True)
            return True
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    return False


# ---------------------------------------------------------------------------
# drawing helpers
# ---------------------------------------------------------------------------
def _rot(pts, angle):
    c, s = math.cos(angle), math.sin(angle)
    pts = np.asarray(pts, dtype=np.float64)
    return np.stack([pts[:, 0] * c - pts[:, 1] * s,
                     pts[:, 0] * s + pts[:, 1] * c], axis=1)


def _ellipse_pts(rx, ry, angle, n=None):
    if n is None:
        n = int(min(96, max(16, 2 * (rx + ry))))
    t = np.arange(n) * (2 * math.pi / n)
    return _rot(np.stack([rx * np.cos(t), ry * np.sin(t)], axis=1), angle)


def _poly(draw, pts, cx, cy, fill):
    draw.polygon([(float(x + cx), float(y + cy)) for x, y in pts], fill=fill)


def _render_shape(shape, size, angle, aspect=1.0, inner=0.55, arm=0.28):
    """Binary mask of ``shape`` with bounding diameter ``size`` px.

    Returns ``(mask, offset)`` where the mask is a square bool array and the
    shape centre lies at ``(offset, offset)`` in mask coordinates.
    """
    side = int(math.ceil(size)) + 4
    c = side / 2.0 - 0.5
    r = size / 2.0
    im = Image.new('L', (side, side), 0)
    d = ImageDraw.Draw(im)
    if shape == 'circle':
        _poly(d, _ellipse_pts(r, r * aspect, angle), c, c, 255)
    elif shape == 'ring':
        _poly(d, _ellipse_pts(r, r * aspect, angle), c, c, 255)
        _poly(d, _ellipse_pts(r * inner, r * aspect * inner, angle), c, c, 0)
    elif shape == 'square':
        t = np.arange(4) * (math.pi / 2) + math.pi / 4
        pts = np.stack([r * np.cos(t), r * aspect * np.sin(t)], axis=1)
        _poly(d, _rot(pts, angle), c, c, 255)
    elif shape == 'triangle':
        t = np.arange(3) * (2 * math.pi / 3) - math.pi / 2
        pts = np.stack([r * np.cos(t), r * np.sin(t)], axis=1)
        _poly(d, _rot(pts, angle), c, c, 255)
    elif shape == 'cross':
        a = max(r * arm, 0.75)
        pts = [(a, r), (a, a), (r, a), (r, -a), (a, -a), (a, -r), (-a, -r),
               (-a, -a), (-r, -a), (-r, a), (-a, a), (-a, r)]
        _poly(d, _rot(pts, angle), c, c, 255)
    elif shape == 'star':
        t = np.arange(10) * (math.pi / 5) - math.pi / 2
        rr = np.where(np.arange(10) % 2 == 0, r, r * 0.45)
        _poly(d, _rot(np.stack([rr * np.cos(t), rr * np.sin(t)], 1), angle),
              c, c, 255)
    elif shape == 'hexagon':
        t = np.arange(6) * (math.pi / 3)
        _poly(d, _rot(np.stack([r * np.cos(t), r * np.sin(t)], 1), angle),
              c, c, 255)
    elif shape == 'crescent':
        _poly(d, _ellipse_pts(r, r, 0.0), c, c, 255)
        ox, oy = _rot([(0.45 * r, 0.0)], angle)[0]
        _poly(d, _ellipse_pts(0.85 * r, 0.85 * r, 0.0), c + ox, c + oy, 0)
    else:
        raise ValueError(f'unknown shape {shape!r}')
    return np.asarray(im) > 0, c


def _clip_paste(shape_hw, mask, x0, y0):
    """Clip a local mask placed with its top-left at (x0, y0).

    Returns ``((row_slice, col_slice), cropped_mask)`` or ``None``.
    """
    H, W = shape_hw
    h, w = mask.shape
    xa, ya = max(x0, 0), max(y0, 0)
    xb, yb = min(x0 + w, W), min(y0 + h, H)
    if xa >= xb or ya >= yb:
        return None
    return ((slice(ya, yb), slice(xa, xb)),
            mask[ya - y0:yb - y0, xa - x0:xb - x0])


def _place(shape_hw, mask, offset, cx, cy):
    x0 = int(round(cx - offset))
    y0 = int(round(cy - offset))
    return _clip_paste(shape_hw, mask, x0, y0)


def _erode(mask, iterations=1):
    m = mask.copy()
    for _ in range(iterations):
        p = np.pad(m, 1, constant_values=False)
        m = (p[1:-1, 1:-1] & p[:-2, 1:-1] & p[2:, 1:-1] & p[1:-1, :-2]
             & p[1:-1, 2:])
    return m


def _lowfreq(rng, size, cells, channels=1):
    """Smooth random field in roughly [-1, 1], shape (size, size, channels)."""
    out = np.empty((size, size, channels), dtype=np.float32)
    for ch in range(channels):
        g = rng.normal(0.0, 1.0, (cells, cells)).astype(np.float32)
        im = Image.fromarray(g, mode='F').resize((size, size),
                                                 Image.BILINEAR)
        out[..., ch] = np.asarray(im)
    return out


def _gradient_bg(rng, size, lo=20, hi=235):
    c0 = rng.uniform(lo, hi, 3)
    c1 = rng.uniform(lo, hi, 3)
    th = rng.uniform(0, 2 * math.pi)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / max(size - 1, 1)
    proj = xx * math.cos(th) + yy * math.sin(th)
    proj = (proj - proj.min()) / max(float(proj.max() - proj.min()), 1e-6)
    return (c0 + (c1 - c0) * proj[..., None]).astype(np.float32)


def _finish(img, rng, sigma):
    img = img + rng.normal(0.0, sigma, img.shape).astype(np.float32)
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def _contrasting_color(rng, ref, min_dist=70.0, tries=10):
    ref = np.asarray(ref, dtype=np.float32)
    col = rng.uniform(0, 255, 3)
    for _ in range(tries):
        if np.linalg.norm(col - ref) >= min_dist:
            break
        col = rng.uniform(0, 255, 3)
    return col.astype(np.float32)


# ---------------------------------------------------------------------------
# detection
# ---------------------------------------------------------------------------
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
    n_obj = int(rng.integers(2, 13))
    n_dis = int(rng.integers(2, 9))
    order = np.array([0] * n_obj + [1] * n_dis)
    rng.shuffle(order)
    max_size = max(8.0, min(60.0, 0.4 * size))
    objs, colors = [], []
    for item in order:
        if item == 1:
            mask, col = _det_distractor(rng, size, colors)
            img[mask] = col
            owner[mask] = -1
            continue
        cls = int(rng.integers(len(DET_CLASSES)))
        s = float(math.exp(rng.uniform(math.log(6.0), math.log(max_size))))
        if objs and rng.random() < 0.35:  # deliberately overlap a neighbour
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
    for _ in range(20):
        img, anns, dropped = _det_try(rng, size)
        if anns:
            break
    else:  # pragma: no cover - practically unreachable
        raise RuntimeError('could not generate an annotated image')
    return _finish(img, rng, rng.uniform(3, 12)), anns, dropped


def make_det(out_dir, num_train=800, num_val=200, img_size=160, seed=0,
             overwrite=False):
    """Write a COCO-format toy detection dataset.

    Layout::

        out_dir/train/000000.png ...
        out_dir/val/000000.png ...
        out_dir/annotations/train.json, val.json   (COCO; file_name is
                                                     relative to the split)
        out_dir/meta.json

    Returns a dict with paths (``train_img_dir``, ``val_img_dir``,
    ``train_ann_file``, ``val_ann_file``), per-split stats, ``skipped`` and
    ``seconds``.
    """
    args = dict(
        num_train=_check_int('num_train', num_train, 1),
        num_val=_check_int('num_val', num_val, 1),
        img_size=_check_int('img_size', img_size, DET_MIN_IMG_SIZE),
        seed=_check_int('seed', seed, 0))
    categories = [dict(id=i + 1, name=n, supercategory='shape')
                  for i, n in enumerate(DET_CLASSES)]

    def body(root):
        os.makedirs(os.path.join(root, 'annotations'))
        stats = {'classes': list(DET_CLASSES)}
        for split, num in (('train', args['num_train']),
                           ('val', args['num_val'])):
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
    for split in ('train', 'val'):
        res[f'{split}_img_dir'] = os.path.join(res['out_dir'], split)
        res[f'{split}_ann_file'] = os.path.join(res['out_dir'],
                                                'annotations', f'{split}.json')
    return res


# ---------------------------------------------------------------------------
# segmentation
# ---------------------------------------------------------------------------
def _lobed_outline(rng, cx, cy, radius, n=72):
    t = np.arange(n) * (2 * math.pi / n)
    rr = np.ones(n)
    for k in range(2, 6):
        rr += rng.uniform(0, 0.11) * np.cos(k * t + rng.uniform(0, 2 *
                                                                math.pi))
    rr = np.maximum(rr, 0.45) * radius
    return t, rr


def _seg_image(rng, size):
    s = size / 128.0
    # stroma background (eosin pinks) with fibres
    base = np.array([232, 176, 206], np.float32) + rng.normal(0, 8, 3)
    field = _lowfreq(rng, size, int(rng.integers(4, 10)), 1)
    img = base + field * np.array([14, 18, 12], np.float32) * \
        rng.uniform(0.6, 1.4)
    fib = Image.new('L', (size, size), 0)
    fd = ImageDraw.Draw(fib)
    for _ in range(int(rng.integers(8, 22))):
        start = rng.uniform(0, size, 2)
        direction = rng.uniform(0, 2 * math.pi)
        pts = [tuple(start)]
        for _ in range(int(rng.integers(3, 7))):
            direction += rng.normal(0, 0.35)
            step = rng.uniform(4, 12) * s
            pts.append((pts[-1][0] + step * math.cos(direction),
                        pts[-1][1] + step * math.sin(direction)))
        fd.line(pts, fill=int(rng.integers(90, 200)), width=1)
    alpha = np.asarray(fib, dtype=np.float32)[..., None] / 255.0
    fibre_col = np.array([196, 118, 168], np.float32) + rng.normal(0, 10, 3)
    img = img * (1 - alpha) + fibre_col * alpha

    label = np.zeros((size, size), np.uint8)
    glands = []
    # glands: lobed epithelium, pale lumen, thin dark membrane; label 2
    n_glands = int(rng.integers(1, 4))
    for _ in range(n_glands * 6):
        if len(glands) >= n_glands:
            break
        R = rng.uniform(13, 30) * s
        cx, cy = rng.uniform(0.15 * size, 0.85 * size, 2)
        if any(math.hypot(cx - g[0], cy - g[1]) < 0.9 * (R + g[2])
               for g in glands):
            continue
        t, rr = _lobed_outline(rng, cx, cy, R)
        outer = [(float(cx + r * math.cos(a)), float(cy + r * math.sin(a)))
                 for a, r in zip(t, rr)]
        lf = rng.uniform(0.35, 0.6)
        lumen = [(float(cx + lf * r * math.cos(a) + rng.normal(0, 0.5)),
                  float(cy + lf * r * math.sin(a) + rng.normal(0, 0.5)))
                 for a, r in zip(t, rr)]
        mo = Image.new('L', (size, size), 0)
        ImageDraw.Draw(mo).polygon(outer, fill=255)
        ml = Image.new('L', (size, size), 0)
        ImageDraw.Draw(ml).polygon(lumen, fill=255)
        mm = Image.new('L', (size, size), 0)
        ImageDraw.Draw(mm).line(outer + [outer[0]], fill=255,
                                width=int(rng.integers(1, 3)))
        mo = np.asarray(mo) > 0
        ml = np.asarray(ml) > 0
        mm = np.asarray(mm) > 0
        epi = np.array([188, 108, 172], np.float32) + rng.normal(0, 10, 3)
        img[mo] = epi + field[mo] * 10
        img[ml] = np.array([246, 228, 240], np.float32) + rng.normal(0, 4, 3)
        # nuclei inside the epithelium: dark, but part of the gland (label 2)
        nd = Image.new('L', (size, size), 0)
        ndd = ImageDraw.Draw(nd)
        band = (1 + lf) / 2
        for a, r in zip(t[::3], rr[::3]):
            if rng.random() < 0.6:
                px = cx + band * r * math.cos(a)
                py = cy + band * r * math.sin(a)
                rn = rng.uniform(1.0, 2.0) * s
                ndd.ellipse([px - rn, py - rn * 1.4, px + rn, py + rn * 1.4],
                            fill=255)
        nm = (np.asarray(nd) > 0) & mo & ~ml
        img[nm] = np.array([128, 62, 146], np.float32) + rng.normal(0, 8, 3)
        img[mm] = np.array([104, 38, 112], np.float32) + rng.normal(0, 6, 3)
        label[mo | mm] = 2
        glands.append((cx, cy, R, t, rr))

    # cells: roundish dark-purple blobs, mostly in touching clusters; label 1
    inst = np.zeros((size, size), np.int32)
    cells = []

    def draw_cell(cx, cy, r):
        mask, off = _render_shape('circle', 2 * r, rng.uniform(0, math.pi),
                                  aspect=rng.uniform(0.7, 1.0))
        placed = _place((size, size), mask, off, cx, cy)
        if placed is None:
            return
        sl, m = placed
        rim = m & ~_erode(m)
        col = np.array([98, 44, 132], np.float32) + rng.normal(0, 12, 3)
        img[sl][m] = col + rng.normal(0, 6, (int(m.sum()), 1))
        img[sl][rim] = col * 0.78
        label[sl][m] = 1
        inst[sl][m] = len(cells) + 1
        cells.append((cx, cy, r))

    def cell_radius():
        return rng.uniform(2.5, 5.5) * s

    for _ in range(int(rng.integers(2, 6))):
        r = cell_radius()
        if glands and rng.random() < 0.6:  # seed on a gland's outer edge
            g = glands[int(rng.integers(len(glands)))]
            k = int(rng.integers(len(g[3])))
            dist = g[4][k] + r * 0.7
            cx = g[0] + dist * math.cos(g[3][k])
            cy = g[1] + dist * math.sin(g[3][k])
        else:
            cx, cy = rng.uniform(0, size, 2)
        first = len(cells)
        draw_cell(cx, cy, r)
        if len(cells) == first:
            continue
        for _ in range(int(rng.integers(2, 11))):
            px, py, pr = cells[first + int(rng.integers(len(cells) - first))]
            r = cell_radius()
            ang = rng.uniform(0, 2 * math.pi)
            dist = (pr + r) * rng.uniform(0.8, 0.98)
            draw_cell(px + dist * math.cos(ang), py + dist * math.sin(ang), r)
    for _ in range(int(rng.integers(3, 12))):  # scattered single cells
        draw_cell(*rng.uniform(0, size, 2), cell_radius())

    pil = Image.fromarray(np.clip(np.rint(img), 0, 255).astype(np.uint8))
    pil = pil.filter(ImageFilter.GaussianBlur(rng.uniform(0.5, 1.0)))
    img = np.asarray(pil).astype(np.float32)
    img *= 1 + 0.06 * _lowfreq(rng, size, 4, 1)  # uneven staining
    img = _finish(img, rng, rng.uniform(3, 8))

    # touching statistics (4-neighbourhood)
    pairs = set()
    for a, b in ((inst[:, :-1], inst[:, 1:]), (inst[:-1, :], inst[1:, :])):
        sel = (a > 0) & (b > 0) & (a != b)
        for u, v in zip(a[sel].tolist(), b[sel].tolist()):
            pairs.add((min(u, v), max(u, v)))
    cg = bool(((label[:, :-1] == 1) & (label[:, 1:] == 2)).any()
              or ((label[:, :-1] == 2) & (label[:, 1:] == 1)).any()
              or ((label[:-1, :] == 1) & (label[1:, :] == 2)).any()
              or ((label[:-1, :] == 2) & (label[1:, :] == 1)).any())
    return img, label, len(cells), len(glands), len(pairs), cg


def make_seg(out_dir, num_train=400, num_val=100, img_size=128, seed=0,
             overwrite=False):
    """Write an mmseg-style toy histology segmentation dataset.

    Layout::

        out_dir/img_dir/{train,val}/000000.png   RGB
        out_dir/ann_dir/{train,val}/000000.png   uint8 'L', values in {0,1,2}
        out_dir/meta.json

    Classes are :data:`SEG_CLASSES` (background, cell, gland).
    """
    args = dict(
        num_train=_check_int('num_train', num_train, 1),
        num_val=_check_int('num_val', num_val, 1),
        img_size=_check_int('img_size', img_size, SEG_MIN_IMG_SIZE),
        seed=_check_int('seed', seed, 0))

    def body(root):
        stats = {'classes': list(SEG_CLASSES), 'palette': SEG_PALETTE}
        for split, num in (('train', args['num_train']),
                           ('val', args['num_val'])):
            idir = os.path.join(root, 'img_dir', split)
            adir = os.path.join(root, 'ann_dir', split)
            os.makedirs(idir)
            os.makedirs(adir)
            pix = np.zeros(len(SEG_CLASSES), np.int64)
            n_cells = n_glands = n_pairs = n_cg = 0
            for idx in range(num):
                rng = _image_rng(args['seed'], 'seg', split, idx)
                img, lab, nc, ng, npairs, cg = _seg_image(rng,
                                                          args['img_size'])
                fname = f'{idx:06d}.png'
                _save_png(img, os.path.join(idir, fname))
                _save_png(lab, os.path.join(adir, fname))
                pix += np.bincount(lab.ravel(), minlength=len(SEG_CLASSES))
                n_cells += nc
                n_glands += ng
                n_pairs += npairs
                n_cg += int(cg)
            stats[split] = dict(
                num_images=num, num_cells=n_cells, num_glands=n_glands,
                num_touching_cell_pairs=n_pairs,
                num_images_cell_touching_gland=n_cg,
                pixel_fraction=dict(zip(
                    SEG_CLASSES,
                    [round(float(p) / float(pix.sum()), 4) for p in pix])),
                img_dir=f'img_dir/{split}', ann_dir=f'ann_dir/{split}')
        return stats

    res = _generate(out_dir, 'seg', args, overwrite, body)
    for split in ('train', 'val'):
        res[f'{split}_img_dir'] = os.path.join(res['out_dir'], 'img_dir',
                                               split)
        res[f'{split}_ann_dir'] = os.path.join(res['out_dir'], 'ann_dir',
                                               split)
    return res


# ---------------------------------------------------------------------------
# classification
# ---------------------------------------------------------------------------
def _pattern_field(kind, size, rng, period, angle, scale_x=1.0):
    """Boolean texture over a size x size grid."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    ca, sa = math.cos(angle), math.sin(angle)
    u = xx * ca + yy * sa + rng.uniform(0, period)
    v = -xx * sa + yy * ca + rng.uniform(0, period)
    if kind == 'stripes':
        return np.sin(u * (2 * math.pi / period)) > 0
    if kind == 'checker':
        return (np.floor(u / period) + np.floor(v / period)) % 2 == 0
    if kind == 'dots':
        du = np.mod(u, period) - period / 2
        dv = np.mod(v, period) - period / 2
        return du * du + dv * dv < (0.3 * period) ** 2
    if kind == 'grid':
        w = max(1.0, period * 0.22)
        return (np.mod(u, period) < w) | (np.mod(v, period) < w)
    raise ValueError(kind)


def _cls_image(rng, name, size):
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
             img_size=32, seed=0, overwrite=False):
    """Write an mmpretrain ``CustomDataset`` toy classification dataset.

    Layout::

        out_dir/train/<class_name>/000000.png
        out_dir/val/<class_name>/000000.png
        out_dir/meta/classes.txt   (one class per line, CLS_CLASSES order)
        out_dir/meta.json

    :data:`CLS_CLASSES` is sorted, so it matches CustomDataset's
    folder-order labels.
    """
    args = dict(
        num_train_per_class=_check_int('num_train_per_class',
                                       num_train_per_class, 1),
        num_val_per_class=_check_int('num_val_per_class', num_val_per_class,
                                     1),
        img_size=_check_int('img_size', img_size, CLS_MIN_IMG_SIZE),
        seed=_check_int('seed', seed, 0))

    def body(root):
        os.makedirs(os.path.join(root, 'meta'))
        with open(os.path.join(root, 'meta', 'classes.txt'), 'w') as f:
            f.write('\n'.join(CLS_CLASSES) + '\n')
        stats = {'classes': list(CLS_CLASSES)}
        for split, num in (('train', args['num_train_per_class']),
                           ('val', args['num_val_per_class'])):
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
    res['train_dir'] = os.path.join(res['out_dir'], 'train')
    res['val_dir'] = os.path.join(res['out_dir'], 'val')
    res['classes_file'] = os.path.join(res['out_dir'], 'meta', 'classes.txt')
    return res


# ---------------------------------------------------------------------------
# retrieval
# ---------------------------------------------------------------------------
def retrieval_classes(num_classes=RETRIEVAL_NUM_CLASSES):
    """Class names ``'001.<shape>_<pattern>'`` (CUB style), in label order.

    Combinations are enumerated along diagonals so that any prefix mixes
    shapes and patterns.
    """
    n = _check_int('num_classes', num_classes, 2)
    if n > RETRIEVAL_MAX_CLASSES:
        raise ValueError(f'num_classes must be <= {RETRIEVAL_MAX_CLASSES}, '
                         f'got {n}')
    combos = []
    ns, npat = len(RETRIEVAL_SHAPES), len(RETRIEVAL_PATTERNS)
    for dshift in range(ns):
        for p in range(npat):
            combos.append(((p + dshift) % ns, p))
    return tuple(f'{i + 1:03d}.{RETRIEVAL_SHAPES[s]}_{RETRIEVAL_PATTERNS[p]}'
                 for i, (s, p) in enumerate(combos[:n]))


def _retrieval_image(rng, shape, pattern, size):
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
    fg = _contrasting_color(rng, img[size // 2, size // 2], 80)
    sec = _contrasting_color(rng, fg, 90)
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


def make_retrieval(out_dir, num_classes=RETRIEVAL_NUM_CLASSES,
                   imgs_per_class=40, img_size=64, seed=0, overwrite=False):
    """Write a CUB-200-style toy retrieval dataset with disjoint classes.

    Layout::

        out_dir/images/<class_name>/0000.png
        out_dir/train.txt   'images/<class_name>/<file>.png <label>' for the
                            first num_classes // 2 classes
        out_dir/test.txt    the same for the remaining classes
        out_dir/classes.txt one class name per line (line i = label i)
        out_dir/meta.json

    Labels are global class ids ``0 .. num_classes - 1``.
    """
    args = dict(
        num_classes=_check_int('num_classes', num_classes, 2),
        imgs_per_class=_check_int('imgs_per_class', imgs_per_class, 2),
        img_size=_check_int('img_size', img_size, RETRIEVAL_MIN_IMG_SIZE),
        seed=_check_int('seed', seed, 0))
    names = retrieval_classes(args['num_classes'])
    n_train = args['num_classes'] // 2

    def body(root):
        lines = {'train': [], 'test': []}
        for label, name in enumerate(names):
            split = 'train' if label < n_train else 'test'
            shape, pattern = name.split('.', 1)[1].split('_', 1)
            d = os.path.join(root, 'images', name)
            os.makedirs(d)
            for j in range(args['imgs_per_class']):
                rng = _image_rng(args['seed'], 'retrieval', name, j)
                fname = f'{j:04d}.png'
                _save_png(_retrieval_image(rng, shape, pattern,
                                           args['img_size']),
                          os.path.join(d, fname))
                lines[split].append(f'images/{name}/{fname} {label}')
        for split in ('train', 'test'):
            with open(os.path.join(root, f'{split}.txt'), 'w') as f:
                f.write('\n'.join(lines[split]) + '\n')
        with open(os.path.join(root, 'classes.txt'), 'w') as f:
            f.write('\n'.join(names) + '\n')
        return dict(
            classes=list(names),
            train=dict(num_images=len(lines['train']),
                       classes=list(range(n_train)), ann_file='train.txt'),
            test=dict(num_images=len(lines['test']),
                      classes=list(range(n_train, len(names))),
                      ann_file='test.txt'))

    res = _generate(out_dir, 'retrieval', args, overwrite, body)
    res['train_ann_file'] = os.path.join(res['out_dir'], 'train.txt')
    res['test_ann_file'] = os.path.join(res['out_dir'], 'test.txt')
    res['img_dir'] = os.path.join(res['out_dir'], 'images')
    return res


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
