"""What the toy-data makers share: seeding, checks, file writing, caching and the
shape / texture drawing used by several tasks.

Only numpy, Pillow and the standard library are imported, so the makers run (and
``tools/make_toy_data.py`` starts) without torch / mmengine.

Determinism
    Every image is drawn from its own ``numpy.random.default_rng`` seeded with
    ``(seed, kind, split, index)`` (:func:`_image_rng`), so the same arguments always
    give byte-identical files, and the size of one split never changes an image of
    another: adding a ``test`` split or changing ``num_train`` leaves every
    validation image as it was.

Atomicity / caching
    Data is written into ``<out_dir>.tmp-<pid>`` and moved into place with
    ``os.replace`` at the end (:func:`_generate`).  ``<out_dir>/meta.json`` records
    :data:`FORMAT_VERSION`, the kind and the arguments.  Calling a maker again with
    the same arguments is a no-op (``result['skipped'] is True``); calling it with
    different arguments, or on data of an older format version, raises
    ``ValueError`` unless ``overwrite=True``.
"""
import json
import math
import os
import shutil
import time
import zlib

import numpy as np
from PIL import Image, ImageDraw

# 2: every maker writes a third, disjoint ``test`` split; retrieval has class-disjoint
# train / val / test lists and a colour factor in its classes.
FORMAT_VERSION = 2

SPLITS = ('train', 'val', 'test')


# ---------------------------------------------------------------------------
# generic helpers
# ---------------------------------------------------------------------------
def loader_options(data_root, batch_size=None):
    """``--cfg-options`` (a dict) that point a toy config's train / val / test loaders
    at ``data_root`` with no worker processes (tests, the service's toy student);
    ``batch_size`` for all three when given."""
    root = data_root.rstrip('/') + '/'
    opts = {}
    for split in SPLITS:
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


def _write_lines(lines, path):
    with open(path, 'w', encoding='utf-8') as f:
        f.write('\n'.join(lines) + '\n')


# ---------------------------------------------------------------------------
# meta.json, caching, atomic install
# ---------------------------------------------------------------------------
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
                       f'format_version={FORMAT_VERSION!r}, args={args!r})')
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
# drawing helpers shared by several tasks
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
