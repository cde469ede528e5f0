"""Hybrid (spatial + channel) attention transfer (method M5 of DESIGN.md), the loss.

Where the network looks and which channels respond, both from activation energy:

    spatial attention  a_s(F) = normalize( mean_c |F|^p )     (N, H*W)  (Zagoruyko &
                                                                         Komodakis' AT)
    channel attention  a_c(F) = normalize( mean_hw |F|^p )    (N, C)
    L = spatial_weight * mean_n ||a_s(F_S) - a_s(F_T)||^2
      + channel_weight * mean_n ||a_c(F_S) - a_c(F_T)||^2      (normalize: unit L2 norm)

``reduction='mean'`` averages each squared distance over its H*W positions (C channels)
too, as AT's own loss does (``(a_s - a_t).pow(2).mean()``, MMRazor's ATLoss): a deep,
small stage then weighs more per position than an early, large one, by H*W.

The spatial term needs equal feature sizes (any widths); the channel term needs equal
channel counts. Student channel i has no natural partner among the teacher's channels;
``channel_pairing='sorted'`` compares the two channel-attention profiles sorted in
descending order (which share of the activity the most active channel, the second ...
carries: permutation-free), ``'index'`` pairs channel i with channel i. For a narrower
student, put :class:`ActiveChannelSelector` (a connector,
:mod:`kd_plugins.models.connectors.channel_selector`) on the teacher side: it keeps the
teacher's ``num_selected`` most active channels by activation statistics collected
during training, so only those are matched. Several stages: one loss per stage.

Config::

    distill_losses=dict(loss_at2=dict(type='HybridAttentionLoss', p=2,
                                      spatial_weight=1.0, channel_weight=1.0,
                                      loss_weight=100.0)),
    connectors=dict(t_select2=dict(type='ActiveChannelSelector', in_channel=256,
                                   num_selected=64)),
    loss_forward_mappings=dict(loss_at2=dict(
        preds_S=dict(from_student=True, recorder='stage2'),
        preds_T=dict(from_student=False, recorder='stage2', connector='t_select2')))
"""
import torch
import torch.nn.functional as F
from mmrazor.registry import MODELS
from torch import nn

from ..utils.config_checks import check_number


def activation_energy(feat: torch.Tensor, p: float, dims) -> torch.Tensor:
    return feat.abs().pow(p).mean(dim=dims)


def spatial_attention_map(feat: torch.Tensor, p: float = 2.0) -> torch.Tensor:
    """``(N, H*W)`` unit-norm spatial attention of ``(N, C, H, W)`` features."""
    return F.normalize(activation_energy(feat, p, 1).flatten(1), dim=1)


def channel_attention_vector(feat: torch.Tensor, p: float = 2.0) -> torch.Tensor:
    """``(N, C)`` unit-norm channel attention of ``(N, C, H, W)`` features."""
    return F.normalize(activation_energy(feat, p, (2, 3)), dim=1)


CHANNEL_PAIRINGS = ('index', 'sorted')
REDUCTIONS = ('sum', 'mean')


def _distance(d: torch.Tensor, reduction: str) -> torch.Tensor:
    """Squared distance of ``(N, K)`` differences: summed over K (``'sum'``) or
    averaged over K (``'mean'``), then averaged over N."""
    d2 = d.pow(2)
    return (d2.mean(1) if reduction == 'mean' else d2.sum(1)).mean()


def hybrid_attention_loss(preds_S: torch.Tensor, preds_T: torch.Tensor, p: float = 2.0,
                          spatial_weight: float = 1.0, channel_weight: float = 1.0,
                          channel_pairing: str = 'index',
                          reduction: str = 'sum') -> torch.Tensor:
    """``L`` of the module docstring (teacher side detached)."""
    if preds_S.dim() != 4 or preds_T.dim() != 4:
        raise ValueError('hybrid attention transfer compares (N, C, H, W) features, got '
                         f'student {tuple(preds_S.shape)} and teacher '
                         f'{tuple(preds_T.shape)}')
    preds_T = preds_T.detach()
    loss = preds_S.new_zeros(())
    if spatial_weight:
        if preds_S.shape[-2:] != preds_T.shape[-2:]:
            raise ValueError(
                f'spatial attention: student feature size {tuple(preds_S.shape[-2:])} '
                f'!= teacher {tuple(preds_T.shape[-2:])}; record stages of equal '
                'resolution')
        d = spatial_attention_map(preds_S, p) - spatial_attention_map(preds_T, p)
        loss = loss + spatial_weight * _distance(d, reduction)
    if channel_weight:
        if preds_S.size(1) != preds_T.size(1):
            raise ValueError(
                f'channel attention: student has {preds_S.size(1)} channels, teacher '
                f'{preds_T.size(1)}; put an ActiveChannelSelector connector with '
                f'num_selected={preds_S.size(1)} on the teacher side (or set '
                'channel_weight=0)')
        a_s, a_t = channel_attention_vector(preds_S, p), channel_attention_vector(preds_T, p)
        if channel_pairing == 'sorted':
            a_s = a_s.sort(dim=1, descending=True).values
            a_t = a_t.sort(dim=1, descending=True).values
        loss = loss + channel_weight * _distance(a_s - a_t, reduction)
    return loss


@MODELS.register_module()
class HybridAttentionLoss(nn.Module):
    """Spatial + channel attention transfer at one stage (M5).

    Args:
        p (float): > 0, exponent of the activation energy ``|F|^p`` (AT uses 2).
        spatial_weight (float): >= 0, weight of the spatial term.
        channel_weight (float): >= 0, weight of the channel term.
        channel_pairing (str): ``'index'`` (channel i with channel i) or ``'sorted'``
            (the descending activity profiles; see the module docstring).
        reduction (str): ``'sum'`` (over positions / channels) or ``'mean'`` (AT's
            normalisation; see the module docstring).
        loss_weight (float): weight of the loss.
    """

    def __init__(self, p: float = 2.0, spatial_weight: float = 1.0,
                 channel_weight: float = 1.0, channel_pairing: str = 'index',
                 reduction: str = 'sum', loss_weight: float = 1.0):
        super().__init__()
        self.p = check_number(p, 'p', strict=True)
        self.spatial_weight = check_number(spatial_weight, 'spatial_weight')
        self.channel_weight = check_number(channel_weight, 'channel_weight')
        if not (self.spatial_weight or self.channel_weight):
            raise ValueError('spatial_weight and channel_weight are both 0: nothing to '
                             'transfer')
        if channel_pairing not in CHANNEL_PAIRINGS:
            raise ValueError(f'channel_pairing must be one of {CHANNEL_PAIRINGS}, got '
                             f'{channel_pairing!r}')
        self.channel_pairing = channel_pairing
        if reduction not in REDUCTIONS:
            raise ValueError(f'reduction must be one of {REDUCTIONS}, got {reduction!r}')
        self.reduction = reduction
        self.loss_weight = loss_weight

    def forward(self, preds_S: torch.Tensor, preds_T: torch.Tensor) -> torch.Tensor:
        return self.loss_weight * hybrid_attention_loss(
            preds_S, preds_T, self.p, self.spatial_weight, self.channel_weight,
            self.channel_pairing, self.reduction)
