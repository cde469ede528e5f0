"""Toy mmseg ``img_dir`` / ``ann_dir`` semantic segmentation (:func:`make_seg`):
histology-like "cells" (class 1, often touching) and lobed "glands" with a thin dark
membrane (class 2) on a stroma background.

:func:`_seg_image` is the one function that draws an image and its label map;
everything else here is file layout.
"""
import math
import os

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from .common import (SPLITS, _check_int, _erode, _finish, _generate, _image_rng,
                     _lowfreq, _place, _render_shape, _save_png)

__all__ = ['SEG_CLASSES', 'SEG_PALETTE', 'make_seg']

SEG_CLASSES = ('background', 'cell', 'gland')
SEG_PALETTE = [[0, 0, 0], [255, 0, 0], [0, 255, 0]]
SEG_MIN_IMG_SIZE = 32


def _lobed_outline(rng, cx, cy, radius, n=72):
    t = np.arange(n) * (2 * math.pi / n)
    rr = np.ones(n)
    for k in range(2, 6):
        rr += rng.uniform(0, 0.11) * np.cos(k * t + rng.uniform(0, 2 *
                                                                math.pi))
    rr = np.maximum(rr, 0.45) * radius
    return t, rr


def _seg_image(rng, size):
    """Draw one image: ``(uint8 image, uint8 label map, #cells, #glands, #touching
    cell pairs, whether a cell touches a gland)``."""
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


def make_seg(out_dir, num_train=400, num_val=100, num_test=100, img_size=128, seed=0,
             overwrite=False):
    """Write an mmseg-style toy histology segmentation dataset with disjoint
    train / val / test.

    Layout::

        out_dir/img_dir/{train,val,test}/000000.png   RGB
        out_dir/ann_dir/{train,val,test}/000000.png   uint8 'L', values in {0,1,2}
        out_dir/meta.json

    Classes are :data:`SEG_CLASSES` (background, cell, gland). Returns a dict with
    ``<split>_img_dir`` and ``<split>_ann_dir`` for each split, per-split stats,
    ``skipped`` and ``seconds``.
    """
    args = dict(
        num_train=_check_int('num_train', num_train, 1),
        num_val=_check_int('num_val', num_val, 1),
        num_test=_check_int('num_test', num_test, 1),
        img_size=_check_int('img_size', img_size, SEG_MIN_IMG_SIZE),
        seed=_check_int('seed', seed, 0))

    def body(root):
        stats = {'classes': list(SEG_CLASSES), 'palette': SEG_PALETTE}
        for split in SPLITS:
            num = args[f'num_{split}']
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
    for split in SPLITS:
        res[f'{split}_img_dir'] = os.path.join(res['out_dir'], 'img_dir',
                                               split)
        res[f'{split}_ann_dir'] = os.path.join(res['out_dir'], 'ann_dir',
                                               split)
    return res
