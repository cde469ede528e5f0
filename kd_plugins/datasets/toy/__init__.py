"""Seeded, deterministic toy datasets in the OpenMMLab on-disk formats, one module per
task, each with disjoint ``train`` / ``val`` / ``test`` splits:

* :func:`make_det` (:mod:`.det`) - COCO-style object detection (5 shape classes, 1-5
  objects per image, some overlap and clutter, textured backgrounds, pixel noise).
* :func:`make_seg` (:mod:`.seg`) - mmseg ``img_dir`` / ``ann_dir`` semantic
  segmentation with histology-like "cells" (class 1, often touching), lobed "glands"
  with a thin dark membrane (class 2) and thin branching "vessels" 1-3 px wide
  (class 3).
* :func:`make_cls` (:mod:`.cls`) - mmpretrain ``CustomDataset`` folder-per-class
  layout, 10 shape / texture classes.
* :func:`make_retrieval` (:mod:`.retrieval`) - CUB-200-style metric learning data with
  class-disjoint ``train`` / ``val`` / ``test`` lists.
* :func:`split_det_semi` (:mod:`.semi`) - labeled / unlabeled split of a COCO file.

What they share (per-image seeding, argument checks, atomic install with a
``meta.json`` cache, the shape drawing) is in :mod:`.common`. The package imports only
numpy, Pillow and the standard library, so ``tools/make_toy_data.py`` loads it
without torch / mmengine.
"""
from .cls import CLS_CLASSES, make_cls
from .codebase_options import (cityscapes_config_options, coco_config_options,
                               imagenet_config_options)
from .common import FORMAT_VERSION, loader_options
from .det import DET_CLASSES, DET_MIN_VISIBLE_FRACTION, det_loader_options, make_det
from .retrieval import (RETRIEVAL_COLORS, RETRIEVAL_MAX_CLASSES, RETRIEVAL_NUM_CLASSES,
                        RETRIEVAL_PATTERNS, RETRIEVAL_SHAPES, make_retrieval,
                        retrieval_classes)
from .seg import SEG_CLASSES, SEG_PALETTE, make_seg
from .semi import semi_split_names, split_det_semi

__all__ = [
    'loader_options', 'det_loader_options', 'coco_config_options',
    'cityscapes_config_options',
    'FORMAT_VERSION', 'DET_CLASSES', 'SEG_CLASSES', 'SEG_PALETTE',
    'CLS_CLASSES', 'imagenet_config_options', 'RETRIEVAL_SHAPES', 'RETRIEVAL_PATTERNS', 'RETRIEVAL_COLORS',
    'RETRIEVAL_NUM_CLASSES', 'RETRIEVAL_MAX_CLASSES', 'DET_MIN_VISIBLE_FRACTION',
    'retrieval_classes', 'make_det', 'make_seg', 'make_cls', 'make_retrieval',
    'semi_split_names', 'split_det_semi'
]
