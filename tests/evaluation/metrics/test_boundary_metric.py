"""Boundary F-score on hand-checkable label maps, and as an mmseg evaluator metric."""
import pytest
import torch

from kd_plugins.evaluation.metrics.boundary import (BoundaryFScore, boundary_f_counts,
                                                    boundary_f_scores)


def edge_map(cols_of_one, rows=6, width=6):
    lab = torch.zeros(rows, width, dtype=torch.long)
    for r, c in enumerate(cols_of_one):
        lab[r, c:] = 1
    return lab


def test_shifted_edge_needs_the_tolerance():
    gt = edge_map([3] * 6)   # class 1 boundary: column 3, class 0: column 2
    pred = edge_map([4] * 6)  # one pixel to the right
    assert boundary_f_scores(boundary_f_counts(pred, gt, 2, tolerance=0)).tolist() == \
        [0.0, 0.0]
    assert boundary_f_scores(boundary_f_counts(pred, gt, 2, tolerance=1)).tolist() == \
        [1.0, 1.0]


def test_half_matched_edge_by_hand():
    gt = edge_map([3] * 6)
    pred = edge_map([3, 3, 3, 4, 4, 4])
    counts = boundary_f_counts(pred, gt, 2, tolerance=0)
    # class 1: predicted boundary rows 0-2 col 3 + rows 3-5 col 4, 3 of 6 on the label's
    # column 3; 3 of the label's 6 boundary pixels are hit: P = R = F = 0.5
    assert counts[1].tolist() == [3.0, 6.0, 3.0, 6.0]
    assert boundary_f_scores(counts)[1].item() == pytest.approx(0.5)


def test_missing_and_absent_classes():
    gt = edge_map([3] * 6)
    pred = torch.zeros_like(gt)  # class 1 never predicted
    scores = boundary_f_scores(boundary_f_counts(pred, gt, 3, tolerance=2))
    assert scores[0].item() == 0.0 and scores[1].item() == 0.0  # one side only: 0
    assert torch.isnan(scores[2])  # class 2 nowhere: left out


def test_metric_accumulates_and_ignores():
    metric = BoundaryFScore(tolerance=0)
    metric.dataset_meta = dict(classes=('background', 'cell', 'gland'))
    gt = edge_map([3] * 6)
    ignored = gt.clone()
    ignored[:, :] = 255
    samples = [dict(pred_sem_seg=dict(data=edge_map([3, 3, 3, 4, 4, 4])[None]),
                    gt_sem_seg=dict(data=gt[None])),
               dict(pred_sem_seg=dict(data=edge_map([0] * 6)[None]),  # all ignored
                    gt_sem_seg=dict(data=ignored[None]))]
    metric.process({}, samples)
    out = metric.compute_metrics(metric.results)
    assert out['bF.cell'] == pytest.approx(50.0)
    assert 'bF.gland' not in out
    assert out['bF'] == pytest.approx((out['bF.background'] + 50.0) / 2)
    with pytest.raises(ValueError, match='tolerance must be an integer >= 0'):
        BoundaryFScore(tolerance=-1)


def test_registered_for_mmseg_evaluators():
    """Found by an mmseg config's evaluator (default scope mmseg), whatever scope an
    earlier test left set."""
    from mmengine.registry import DefaultScope
    from mmseg.registry import METRICS
    with DefaultScope.overwrite_default_scope('mmseg'):
        assert METRICS.build(dict(type='BoundaryFScore', tolerance=3)).tolerance == 3
