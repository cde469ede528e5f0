"""Object boundaries of label maps, as plain tensor functions (M6's boundary band and the
boundary F-score share them).

    boundary(L)     pixels whose 4-neighbourhood holds another (non-ignored) label
    band(B, w)      pixels within Chebyshev distance w of a boundary pixel (a square
                    dilation of B by w: ``max_pool2d`` with a (2w+1) kernel)

Labels are integer maps ``(H, W)`` or ``(N, H, W)``; ``ignore_index`` pixels are never
boundary pixels and do not make their neighbours one.
"""
import torch
import torch.nn.functional as F

from .config_checks import check_int


def _batched(label: torch.Tensor) -> torch.Tensor:
    if label.dim() == 2:
        return label.unsqueeze(0)
    if label.dim() != 3:
        raise ValueError(f'label maps must be (H, W) or (N, H, W), got '
                         f'{tuple(label.shape)}')
    return label


def label_boundary(label: torch.Tensor, ignore_index: int = 255) -> torch.Tensor:
    """Bool map of the pixels that touch (4-neighbourhood) a different valid label."""
    lab = _batched(label)
    valid = lab != ignore_index
    edge = torch.zeros_like(lab, dtype=torch.bool)
    for a, b in (((slice(None), slice(1, None)), (slice(None), slice(None, -1))),
                 ((slice(1, None), slice(None)), (slice(None, -1), slice(None)))):
        pa, pb = (slice(None), *a), (slice(None), *b)
        diff = (lab[pa] != lab[pb]) & valid[pa] & valid[pb]
        edge[pa] |= diff
        edge[pb] |= diff
    return edge if label.dim() == 3 else edge[0]


def dilate(mask: torch.Tensor, width: int) -> torch.Tensor:
    """Bool map of the pixels within Chebyshev distance ``width`` of ``mask``."""
    check_int(width, 'width')
    m = _batched(mask).float().unsqueeze(1)
    if width:
        m = F.max_pool2d(m, 2 * width + 1, stride=1, padding=width)
    out = m.squeeze(1) > 0
    return out if mask.dim() == 3 else out[0]


def boundary_band(label: torch.Tensor, width: int, ignore_index: int = 255) -> torch.Tensor:
    """Bool map of the pixels within ``width`` of an object boundary of ``label``."""
    return dilate(label_boundary(label, ignore_index), width)
