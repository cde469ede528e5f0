"""Attention-guided feature imitation (method M1 of DESIGN.md), feature part.

The teacher's attention decides *where* (spatial attention, per location over channels)
and *what* (channel attention, per channel over locations) the student imitates, which
suppresses background; a second term makes the student's attention match the teacher's.
With ``F`` a ``(N, C, H, W)`` feature and temperature ``T``:

    A_s(F) = H * W * softmax_{h,w}( mean_c |F| / T )        (sums to H*W per image)
    A_c(F) = C * softmax_c( mean_{h,w} |F| / T )             (sums to C per image)
    L_imit = 1/N * sum_{n,c,h,w} A_s(F_T) A_c(F_T) (F_S - F_T)^2
    L_att  = 1/N * ( sum |A_s(F_S) - A_s(F_T)| + sum |A_c(F_S) - A_c(F_T)| )
    loss   = loss_weight * (L_imit + attention_weight * L_att)

With ``normalize=True``, ``L_imit`` compares per-channel standardised features
(:func:`.feature_norm.standardize`); the attentions always come from the raw features.

The attention form follows Yang et al., "Focal and Global Knowledge Distillation for
Detectors" (CVPR 2022). The student feature reaches the teacher's channel count through a
connector (adaptation layer), e.g. ``ConvModuleConnector``.

Config::

    distill_losses=dict(loss_m1_neck0=dict(
        type='AttentionGuidedImitationLoss', temperature=0.5, loss_weight=5e-4,
        attention_weight=0.1)),
    loss_forward_mappings=dict(loss_m1_neck0=dict(
        preds_S=dict(from_student=True, recorder='neck', data_idx=0, connector='s0'),
        preds_T=dict(from_student=False, recorder='neck', data_idx=0)))
"""
import torch
import torch.nn.functional as F
from mmrazor.registry import MODELS
from torch import nn

from .feature_norm import check_same_shape, standardize


def check_temperature(temperature, field='temperature'):
    if not isinstance(temperature, (int, float)) or temperature <= 0:
        raise ValueError(f'{field} must be a number > 0, got {temperature!r}')


def spatial_attention(feat: torch.Tensor, temperature: float) -> torch.Tensor:
    """``(N, 1, H, W)`` map that sums to ``H * W`` per image."""
    n, _, h, w = feat.shape
    logits = feat.abs().mean(dim=1).reshape(n, -1) / temperature
    return (h * w * F.softmax(logits, dim=1)).reshape(n, 1, h, w)


def channel_attention(feat: torch.Tensor, temperature: float) -> torch.Tensor:
    """``(N, C, 1, 1)`` weights that sum to ``C`` per image."""
    n, c = feat.shape[:2]
    logits = feat.abs().mean(dim=(2, 3)) / temperature
    return (c * F.softmax(logits, dim=1)).reshape(n, c, 1, 1)


def attention_guided_imitation(preds_S: torch.Tensor, preds_T: torch.Tensor,
                               temperature: float = 0.5, normalize: bool = False):
    """Return ``(L_imit, L_att)`` of the module docstring (teacher side detached)."""
    check_same_shape(preds_S, preds_T)
    preds_T = preds_T.detach()
    n = preds_S.size(0)
    s_t = spatial_attention(preds_T, temperature)
    c_t = channel_attention(preds_T, temperature)
    diff = standardize(preds_S) - standardize(preds_T) if normalize else \
        preds_S - preds_T
    imitation = (s_t * c_t * diff.pow(2)).sum() / n
    attention = ((spatial_attention(preds_S, temperature) - s_t).abs().sum() +
                 (channel_attention(preds_S, temperature) - c_t).abs().sum()) / n
    return imitation, attention


@MODELS.register_module()
class AttentionGuidedImitationLoss(nn.Module):
    """M1 feature imitation weighted by the teacher's spatial and channel attention.

    Args:
        temperature (float): softmax temperature of both attentions (> 0); lower
            concentrates the imitation on fewer locations / channels.
        loss_weight (float): weight of the whole loss.
        attention_weight (float): weight of the attention-transfer term.
        normalize (bool): imitate per-channel standardised features.
    """

    def __init__(self, temperature: float = 0.5, loss_weight: float = 1.0,
                 attention_weight: float = 0.1, normalize: bool = False):
        super().__init__()
        check_temperature(temperature)
        self.temperature = float(temperature)
        self.loss_weight = loss_weight
        self.attention_weight = attention_weight
        self.normalize = bool(normalize)

    def forward(self, preds_S: torch.Tensor, preds_T: torch.Tensor) -> torch.Tensor:
        imitation, attention = attention_guided_imitation(
            preds_S, preds_T, self.temperature, self.normalize)
        return self.loss_weight * (imitation + self.attention_weight * attention)
