"""Boundary F-score of semantic segmentation (a registered mmseg evaluator metric).

Per class c, with P_c / G_c the boundary pixels of the predicted / ground-truth masks of
c (mask pixels with a 4-neighbour outside the mask; ignored pixels excluded) and
``tolerance`` d in pixels (Chebyshev distance):

    precision_c = |P_c within d of G_c| / |P_c|      recall_c = |G_c within d of P_c| / |G_c|
    BF_c = 2 precision_c recall_c / (precision_c + recall_c)

counts summed over the whole dataset before the ratios; classes with no boundary in
either prediction or labels are left out of the mean; a class with boundaries on one
side only scores 0. Reported in percent, like mmseg's mIoU: ``bF`` (the mean) and
``bF.<class>``. The boundary F-score follows Csurka et al., BMVC 2013.

Config::

    val_evaluator = [dict(type='IoUMetric', iou_metrics=['mIoU', 'mDice']),
                     dict(type='BoundaryFScore', tolerance=2)]
"""
from typing import Dict, List, Optional, Sequence

import torch
from mmengine.evaluator import BaseMetric
from mmseg.registry import METRICS

from ...models.utils.boundary import dilate, label_boundary
from ...models.utils.config_checks import check_int


def mask_boundary(mask: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """Pixels of the bool ``mask`` with a valid 4-neighbour outside it."""
    lab = torch.where(valid, mask.long(), torch.full_like(mask, -1, dtype=torch.long))
    return label_boundary(lab, ignore_index=-1) & mask


def boundary_f_counts(pred: torch.Tensor, gt: torch.Tensor, num_classes: int,
                      tolerance: int = 2, ignore_index: int = 255) -> torch.Tensor:
    """``(num_classes, 4)``: matched and total predicted boundary pixels, matched and
    total ground-truth boundary pixels, of one ``(H, W)`` prediction / label pair."""
    if pred.shape != gt.shape or pred.dim() != 2:
        raise ValueError(f'prediction {tuple(pred.shape)} and label {tuple(gt.shape)} '
                         'must be equal (H, W) maps')
    valid = gt != ignore_index
    counts = torch.zeros(num_classes, 4, dtype=torch.float64)
    for c in range(num_classes):
        p = mask_boundary((pred == c) & valid, valid)
        g = mask_boundary(gt == c, valid)
        if not (p.any() or g.any()):
            continue
        counts[c, 0] = (p & dilate(g, tolerance)).sum()
        counts[c, 1] = p.sum()
        counts[c, 2] = (g & dilate(p, tolerance)).sum()
        counts[c, 3] = g.sum()
    return counts


def boundary_f_scores(counts: torch.Tensor) -> torch.Tensor:
    """Per-class BF (NaN where a class has no boundary on either side)."""
    mp, tp, mg, tg = counts.double().unbind(1)
    precision = torch.where(tp > 0, mp / tp.clamp(min=1), torch.zeros_like(tp))
    recall = torch.where(tg > 0, mg / tg.clamp(min=1), torch.zeros_like(tg))
    denom = precision + recall
    f = torch.where(denom > 0, 2 * precision * recall / denom.clamp(min=1e-12),
                    torch.zeros_like(denom))
    return torch.where((tp + tg) > 0, f, torch.full_like(f, float('nan')))


@METRICS.register_module()
class BoundaryFScore(BaseMetric):
    """Boundary F-score within ``tolerance`` pixels (see the module docstring).

    Args:
        tolerance (int): >= 0, distance in pixels at which a boundary pixel counts as
            matched.
        ignore_index (int): label of ignored pixels.
        collect_device, prefix: as :class:`mmengine.evaluator.BaseMetric`.
    """

    def __init__(self, tolerance: int = 2, ignore_index: int = 255,
                 collect_device: str = 'cpu', prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.tolerance = check_int(tolerance, 'tolerance', unit=' (pixels)')
        self.ignore_index = ignore_index

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        num_classes = len(self.dataset_meta['classes'])
        for sample in data_samples:
            pred = sample['pred_sem_seg']['data'].squeeze(0).cpu()
            gt = sample['gt_sem_seg']['data'].squeeze(0).cpu().to(pred)
            self.results.append(boundary_f_counts(pred, gt, num_classes, self.tolerance,
                                                  self.ignore_index))

    def compute_metrics(self, results: List[torch.Tensor]) -> Dict[str, float]:
        scores = boundary_f_scores(torch.stack(results).sum(0))
        present = ~scores.isnan()
        out = {'bF': round(100 * scores[present].mean().item(), 2)
               if present.any() else 0.0}
        for name, s in zip(self.dataset_meta['classes'], scores.tolist()):
            if s == s:  # not NaN
                out[f'bF.{name}'] = round(100 * s, 2)
        return out
