"""Feature-pair helpers of the feature losses: shape check, per-channel standardisation.

Teacher and student features differ in scale per channel (a narrower student behind a
1x1 adaptation layer, BN statistics of two networks): a plain squared error is then
dominated by the few channels of largest magnitude. Standardising each channel of each
image over its locations (zero mean, unit variance), as PKD (Cao et al., NeurIPS 2022)
does, makes the distance compare the *pattern* of each channel, not its scale.
"""
import torch


def standardize(feat: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """``(N, C, H, W)`` -> each channel of each image with mean 0, std 1 over H x W."""
    mean = feat.mean(dim=(2, 3), keepdim=True)
    std = feat.var(dim=(2, 3), keepdim=True, unbiased=False).add(eps).sqrt()
    return (feat - mean) / std


def check_same_shape(preds_S: torch.Tensor, preds_T: torch.Tensor):
    """A feature loss compares equal shapes; say how to get there when they differ."""
    if preds_S.shape != preds_T.shape:
        raise ValueError(
            f'student feature {tuple(preds_S.shape)} and teacher feature '
            f'{tuple(preds_T.shape)} differ; map the student to the teacher with a '
            'connector (adaptation layer)')
