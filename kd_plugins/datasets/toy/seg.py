"""Toy mmseg ``img_dir`` / ``ann_dir`` semantic segmentation (:func:`make_seg`), a
histology-like stain on a pink stroma background (class 0) with

* class 1 ``cell``: roundish dark-purple blobs, mostly in touching clusters, some paler;
* class 2 ``gland``: lobed epithelium with dark nuclei, a pale lumen and a thin dark
  membrane (pale empty spaces in the stroma look like a lumen: only the epithelium
  around it tells them apart);
* class 3 ``vessel``: 1-3 branching, smoothly curving dark-red vessel trees, 1.5-3 px
  wide at 128 px (trunks taper to 1.5-2 px, branches to 1.5 px; labels 1-3 px wide),
  about 3 % of the pixels.
  They run over glands (and win those pixels), cells may lie on them. Unlabeled 1-px
  "fibres" with corners are the look-alike: a third of them are as dark and red as a
  thin vessel, so width, smoothness, length and branching (not colour) separate them.

The thin class is what makes the task calibrated for protocol v2 (issue 16): without
it the data was saturated (no-KD UNet-8 student 97 mIoU, UNet-32 teacher 99), and a
1-3 px class makes boundary accuracy and full resolution matter as in the retinal
vessel sets the boundary-aware multi-teacher method (M6) is for (DRIVE, CHASE_DB1,
STARE, HRF); telling a gland's lumen from a pale stroma space needs context instead,
where a large receptive field (DeepLabV3 at output stride 8) may win.

:func:`_seg_image` is the one function that draws an image and its label map;
everything else here is file layout.
"""
import math
import os

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from .common import (SPLITS, _check_int, _erode, _finish, _generate, _image_rng,
                     _lowfreq, _place, _render_shape, _save_png)

__all__ = ['SEG_CLASSES', 'SEG_PALETTE', 'SEG_CONTENT', 'make_seg']

SEG_CLASSES = ('background', 'cell', 'gland', 'vessel')
SEG_PALETTE = [[0, 0, 0], [255, 0, 0], [0, 255, 0], [0, 0, 255]]
# what the drawing is, recorded in meta.json's args: change it whenever _seg_image
# draws differently with the same arguments, so cached data is not reused
SEG_CONTENT = 'seg-v2-vessels-1.5px'
# the thinnest a vessel is drawn (px at 128 px): its label is then 1-2 px wide, never
# a line of single pixels that a blurred 1-px stroke cannot place
VESSEL_MIN_WIDTH = 1.5
SEG_MIN_IMG_SIZE = 32


def _lobed_outline(rng, cx, cy, radius, n=72):
    t = np.arange(n) * (2 * math.pi / n)
    rr = np.ones(n)
    for k in range(2, 6):
        rr += rng.uniform(0, 0.11) * np.cos(k * t + rng.uniform(0, 2 *
                                                                math.pi))
    rr = np.maximum(rr, 0.45) * radius
    return t, rr


def _stroke(segments, size):
    """Rasterise tapered round-capped strokes.

    ``segments``: float array ``(M, 6)`` of ``x0, y0, x1, y1, w0, w1`` (pixel centres
    at integer coordinates; ``w`` the full width in px at either end). Returns
    ``(coverage, mask)``: anti-aliased coverage in [0, 1] (for the image) and the
    pixels whose centre lies within half the local width of the centre line (for the
    label; a 1-px stroke is an 8-connected line of single pixels).
    """
    cov = np.zeros((size, size), np.float32)
    mask = np.zeros((size, size), bool)
    for x0, y0, x1, y1, w0, w1 in np.asarray(segments, np.float64).reshape(-1, 6):
        pad = max(w0, w1) / 2 + 1
        xa = max(int(math.floor(min(x0, x1) - pad)), 0)
        xb = min(int(math.ceil(max(x0, x1) + pad)) + 1, size)
        ya = max(int(math.floor(min(y0, y1) - pad)), 0)
        yb = min(int(math.ceil(max(y0, y1) + pad)) + 1, size)
        if xa >= xb or ya >= yb:
            continue
        yy, xx = np.mgrid[ya:yb, xa:xb]
        dx, dy = x1 - x0, y1 - y0
        den = dx * dx + dy * dy
        t = np.zeros(xx.shape) if den == 0 else np.clip(
            ((xx - x0) * dx + (yy - y0) * dy) / den, 0, 1)
        dist = np.hypot(xx - (x0 + t * dx), yy - (y0 + t * dy))
        half = (w0 + t * (w1 - w0)) / 2
        sl = (slice(ya, yb), slice(xa, xb))
        cov[sl] = np.maximum(cov[sl], np.clip(half + 0.5 - dist, 0, 1))
        mask[sl] |= dist <= half
    return cov, mask


def _walk(rng, start, direction, length, step, bend):
    """A smoothly turning random walk: ``(n, 2)`` points ``step`` px apart, the turn
    rate itself a damped random walk (no corners, unlike the fibres')."""
    n = max(int(length / step), 2)
    pts = np.empty((n + 1, 2))
    pts[0] = start
    turn = 0.0
    for i in range(n):
        turn = 0.85 * turn + rng.normal(0, bend)
        direction += turn
        pts[i + 1] = pts[i] + step * np.array([math.cos(direction),
                                               math.sin(direction)])
    return pts


def _vessel_tree(rng, size, s):
    """One vessel tree: a trunk of 0.7-1.2 image sides, mostly entering from an edge,
    with 0-2 branches of 0.3-0.6 sides off the trunk or an earlier branch; each a
    smooth walk whose width tapers from 2.2-3 (trunk) or 1.2-2 (branch) to about 1 in
    units of ``s`` (never under :data:`VESSEL_MIN_WIDTH` px). Returns the stroke
    segments (see :func:`_stroke`) and the number of branches."""
    step = 1.5 * s
    for _ in range(5):  # a trunk that mostly stays in the image
        if rng.random() < 0.7:  # enter from an edge, heading inwards
            edge = int(rng.integers(4))
            u = rng.uniform(0.1, 0.9) * size
            start = [(u, -1), (size, u), (u, size), (-1, u)][edge]
            direction = edge * math.pi / 2 + math.pi / 2 + rng.normal(0, 0.35)
        else:
            start = rng.uniform(0.2 * size, 0.8 * size, 2)
            direction = rng.uniform(0, 2 * math.pi)
        trunk = _walk(rng, np.asarray(start, np.float64), direction,
                      rng.uniform(0.7, 1.2) * size, step, 0.025)
        if ((trunk >= 0) & (trunk < size)).all(1).mean() >= 0.6:
            break
    branches = [(trunk, rng.uniform(2.2, 3.0) * s, rng.uniform(1.2, 1.8) * s)]
    for _ in range(int(rng.integers(0, 3))):
        pts, w0, w1 = branches[int(rng.integers(len(branches)))]
        k = int(rng.integers(int(0.15 * len(pts)), int(0.7 * len(pts)) + 1))
        here = w0 + (w1 - w0) * k / (len(pts) - 1)
        d = pts[min(k + 1, len(pts) - 1)] - pts[max(k - 1, 0)]
        heading = math.atan2(d[1], d[0]) + rng.choice([-1, 1]) * rng.uniform(0.4, 1.1)
        bw = min(rng.uniform(0.55, 0.85) * here, 2.0 * s)
        branches.append((_walk(rng, pts[k], heading,
                               rng.uniform(0.3, 0.6) * size, step, 0.035),
                         max(bw, 1.2 * s), rng.uniform(0.8, 1.2) * s))
    segs = []
    for pts, w0, w1 in branches:
        w = np.maximum(np.linspace(w0, w1, len(pts)), VESSEL_MIN_WIDTH)
        segs.append(np.concatenate([pts[:-1], pts[1:], w[:-1, None], w[1:, None]], 1))
    return np.concatenate(segs), len(branches) - 1


def _seg_image(rng, size):
    """Draw one image: ``(uint8 image, uint8 label map, info)``; ``info`` counts
    cells, glands, touching cell pairs, whether a cell touches a gland, vessel trees
    and branches, and the vessels' centre-line length and width x length inside the
    image (px, as drawn: the label may be a pixel wider or narrower)."""
    s = size / 128.0
    # stroma background (eosin pinks) with fibres
    base = np.array([232, 176, 206], np.float32) + rng.normal(0, 8, 3)
    field = _lowfreq(rng, size, int(rng.integers(4, 10)), 1)
    img = base + field * np.array([14, 18, 12], np.float32) * \
        rng.uniform(0.6, 1.4)
    # pale empty spaces in the stroma: background that looks like a gland's lumen,
    # so only the context (an epithelium around it, or not) tells them apart
    for _ in range(int(rng.integers(0, 3))):
        cx, cy = rng.uniform(0.1 * size, 0.9 * size, 2)
        t, rr = _lobed_outline(rng, cx, cy, rng.uniform(4, 9) * s, n=36)
        hole = Image.new('L', (size, size), 0)
        ImageDraw.Draw(hole).polygon(
            [(float(cx + r * math.cos(a)), float(cy + r * math.sin(a)))
             for a, r in zip(t, rr)], fill=255)
        hole = np.asarray(hole) > 0
        img[hole] = np.array([244, 224, 236], np.float32) + rng.normal(0, 5, 3)
    # fibres: unlabeled 1-px lines with corners; a third dark red like a thin vessel
    # (the look-alike: only width, smoothness, branching and length tell them apart)
    vessel_col = np.array([138, 18, 48], np.float32)
    for _ in range(int(rng.integers(8, 22))):
        start = rng.uniform(0, size, 2)
        direction = rng.uniform(0, 2 * math.pi)
        pts = [start]
        for _ in range(int(rng.integers(3, 7))):
            direction += rng.normal(0, 0.35)
            step = rng.uniform(4, 12) * s
            pts.append(pts[-1] + step * np.array([math.cos(direction),
                                                  math.sin(direction)]))
        pts = np.asarray(pts)
        one = np.ones((len(pts) - 1, 1))
        cov, _ = _stroke(np.concatenate([pts[:-1], pts[1:], one, one], 1), size)
        if rng.random() < 1 / 3:
            col = vessel_col + rng.normal(0, 14, 3) + rng.uniform(0, 40)
            alpha = cov[..., None] * rng.uniform(0.75, 1.0)
        else:
            col = np.array([196, 118, 168], np.float32) + rng.normal(0, 10, 3)
            alpha = cov[..., None] * rng.uniform(0.35, 0.8)
        img = img * (1 - alpha) + col * alpha

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

    # vessels: 1-3 branching trees, dark red, 1-3 px wide (times s); label 3. Over a
    # gland they stay visible and win its pixels; cells may lie on top of them.
    n_trees = int(rng.integers(1, 4))
    n_branches = 0
    v_len = v_width_len = 0.0
    for _ in range(n_trees):
        segs, nb = _vessel_tree(rng, size, s)
        n_branches += nb
        mid = (segs[:, 0:2] + segs[:, 2:4]) / 2
        inside = ((mid >= 0) & (mid < size)).all(1)
        seg_len = np.hypot(*(segs[:, 2:4] - segs[:, 0:2]).T)[inside]
        v_len += float(seg_len.sum())
        v_width_len += float((seg_len * (segs[inside, 4] + segs[inside, 5]) / 2).sum())
        cov, vm = _stroke(segs, size)
        col = vessel_col + rng.normal(0, 12, 3)
        shade = 1 + 0.08 * _lowfreq(rng, size, 3, 1)  # darker / lighter stretches
        alpha = cov[..., None] * rng.uniform(0.85, 1.0)
        img = img * (1 - alpha) + col * shade * alpha
        label[vm] = 3

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
        if rng.random() < 0.2:  # a paler, less contrasted cell
            col += (base - col) * rng.uniform(0.25, 0.45)
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
    info = dict(cells=len(cells), glands=len(glands), touching_cell_pairs=len(pairs),
                cell_touches_gland=cg, vessel_trees=n_trees, vessel_branches=n_branches,
                vessel_length=v_len, vessel_width_x_length=v_width_len)
    return img, label, info


def make_seg(out_dir, num_train=400, num_val=100, num_test=100, img_size=128, seed=0,
             overwrite=False):
    """Write an mmseg-style toy histology segmentation dataset with disjoint
    train / val / test.

    Layout::

        out_dir/img_dir/{train,val,test}/000000.png   RGB
        out_dir/ann_dir/{train,val,test}/000000.png   uint8 'L', values in {0,1,2,3}
        out_dir/meta.json

    Classes are :data:`SEG_CLASSES` (background, cell, gland, vessel). Returns a dict
    with ``<split>_img_dir`` and ``<split>_ann_dir`` for each split, per-split stats
    (counts, pixel fraction per class, vessel trees and mean vessel width in px),
    ``skipped`` and ``seconds``. ``args`` in ``meta.json`` carries
    :data:`SEG_CONTENT`, so data drawn by an earlier version of the drawing is
    refused (or replaced with ``overwrite=True``), never reused.
    """
    args = dict(
        num_train=_check_int('num_train', num_train, 1),
        num_val=_check_int('num_val', num_val, 1),
        num_test=_check_int('num_test', num_test, 1),
        img_size=_check_int('img_size', img_size, SEG_MIN_IMG_SIZE),
        seed=_check_int('seed', seed, 0),
        content=SEG_CONTENT)

    def body(root):
        stats = {'classes': list(SEG_CLASSES), 'palette': SEG_PALETTE}
        for split in SPLITS:
            num = args[f'num_{split}']
            idir = os.path.join(root, 'img_dir', split)
            adir = os.path.join(root, 'ann_dir', split)
            os.makedirs(idir)
            os.makedirs(adir)
            pix = np.zeros(len(SEG_CLASSES), np.int64)
            tot = dict(cells=0, glands=0, touching_cell_pairs=0, cell_touches_gland=0,
                       vessel_trees=0, vessel_branches=0, vessel_length=0.0,
                       vessel_width_x_length=0.0)
            for idx in range(num):
                rng = _image_rng(args['seed'], 'seg', split, idx)
                img, lab, info = _seg_image(rng, args['img_size'])
                fname = f'{idx:06d}.png'
                _save_png(img, os.path.join(idir, fname))
                _save_png(lab, os.path.join(adir, fname))
                pix += np.bincount(lab.ravel(), minlength=len(SEG_CLASSES))
                for k in tot:
                    tot[k] += info[k]
            stats[split] = dict(
                num_images=num, num_cells=tot['cells'], num_glands=tot['glands'],
                num_touching_cell_pairs=tot['touching_cell_pairs'],
                num_images_cell_touching_gland=int(tot['cell_touches_gland']),
                num_vessel_trees=tot['vessel_trees'],
                num_vessel_branches=tot['vessel_branches'],
                # centre-line-length-weighted, as drawn (px at img_size)
                mean_vessel_width_px=round(
                    tot['vessel_width_x_length'] / max(tot['vessel_length'], 1e-9), 3),
                pixel_fraction=dict(zip(
                    SEG_CLASSES,
                    [round(float(p) / float(pix.sum()), 4) for p in pix])),
                img_dir=f'img_dir/{split}', ann_dir=f'ann_dir/{split}')
        return stats

    res = _generate(out_dir, 'seg', args, overwrite, body)
    for split in SPLITS:
        res[f'{split}_img_dir'] = os.path.join(res['out_dir'], 'img_dir',
                                               split)
        res[f'{split}_ann_dir'] = os.path.join(res['out_dir'], 'ann_dir',
                                               split)
    return res
