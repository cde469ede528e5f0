"""Losses of dual-generator data-free distillation (method M7 of DESIGN.md).

No training data: generator G1 makes *hard* samples, generator G2 *easy* ones, and the
student learns the teacher's logits ``t`` on both. With student logits ``s`` (N, K),
``p = softmax(t)`` and ``p_bar = mean_n p`` (the batch's class distribution):

    G1, hard (adversarial, as DFAD):   L_adv = - mean |s - t|
        minimising it drives G1 to where student and teacher disagree most
    G2, easy (as DAFL + DeepInversion):
        one-hot        L_oh = CE(t, argmax t)          low when the teacher is confident
        info-entropy   L_ie = sum_k p_bar_k log p_bar_k     (= -H(p_bar); lowest, -log K,
                                                         when the batch is class-balanced)
        BN statistics  L_bn = sum_l ||mu_l(x) - running_mean_l||_2
                                  + ||var_l(x) - running_var_l||_2
            over every BN layer l of the teacher, mu_l / var_l the per-channel batch mean
            and (biased) variance of that layer's input
    student, on the union of G1 and G2 samples:
        'l1':  L_kd = mean |s - t|
        'kl':  L_kd = tau^2 * KL(softmax(t / tau) || softmax(s / tau))   (batch mean)

Each module multiplies its term by ``loss_weight`` (>= 0; the adversarial sign is built
in). The math is in plain tensor functions; the modules hold hyper-parameters.

Config (fields of :class:`DualGeneratorDataFreeDistill`)::

    adversarial_loss=dict(type='HardSampleAdversarialLoss', loss_weight=1.0),
    onehot_loss=dict(type='TeacherOneHotLoss', loss_weight=1.0),
    info_entropy_loss=dict(type='ClassBalanceEntropyLoss', loss_weight=5.0),
    bn_stats_loss=dict(type='BNStatisticsLoss', loss_weight=1.0),
    distill_loss=dict(type='LogitsDistillLoss', mode='l1', loss_weight=1.0)
"""
from typing import Sequence, Tuple

import torch
import torch.nn.functional as F
from mmrazor.registry import MODELS
from torch import nn

from ..utils.config_checks import check_number

KD_MODES = ('l1', 'kl')


def _check_logits(preds: torch.Tensor, name: str) -> None:
    if preds.dim() != 2:
        raise ValueError(f'{name} must be (N, num_classes) logits, got '
                         f'{tuple(preds.shape)}')


def _check_pair(preds_S: torch.Tensor, preds_T: torch.Tensor) -> None:
    _check_logits(preds_S, 'preds_S')
    _check_logits(preds_T, 'preds_T')
    if preds_S.shape != preds_T.shape:
        raise ValueError(f'student logits {tuple(preds_S.shape)} and teacher logits '
                         f'{tuple(preds_T.shape)} differ in shape')


def logits_discrepancy(preds_S: torch.Tensor, preds_T: torch.Tensor) -> torch.Tensor:
    """``mean |s - t|`` over batch and classes (gradients reach both sides)."""
    _check_pair(preds_S, preds_T)
    return (preds_S - preds_T).abs().mean()


def onehot_loss(preds_T: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of the teacher's logits to their own argmax."""
    _check_logits(preds_T, 'preds_T')
    return F.cross_entropy(preds_T, preds_T.detach().argmax(dim=1))


def information_entropy_loss(preds_T: torch.Tensor) -> torch.Tensor:
    """``sum_k p_bar_k log p_bar_k`` of the batch-mean teacher class distribution."""
    _check_logits(preds_T, 'preds_T')
    p_bar = F.softmax(preds_T, dim=1).mean(dim=0)
    return (p_bar * torch.log(p_bar.clamp_min(1e-12))).sum()


def channel_stats(feat: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """Per-channel mean and biased variance of a BN input ``(N, C, ...)``."""
    dims = [d for d in range(feat.dim()) if d != 1]
    return feat.mean(dim=dims), feat.var(dim=dims, unbiased=False)


def bn_statistics_loss(batch_means: Sequence[torch.Tensor],
                       batch_vars: Sequence[torch.Tensor],
                       running_means: Sequence[torch.Tensor],
                       running_vars: Sequence[torch.Tensor]) -> torch.Tensor:
    """``sum_l ||mu_l - running_mean_l||_2 + ||var_l - running_var_l||_2``."""
    counts = {len(batch_means), len(batch_vars), len(running_means), len(running_vars)}
    if len(counts) != 1 or not batch_means:
        raise ValueError('bn_statistics_loss needs one mean, variance, running mean and '
                         f'running variance per BN layer (at least one layer), got '
                         f'{len(batch_means)}, {len(batch_vars)}, {len(running_means)}, '
                         f'{len(running_vars)}')
    terms = [torch.linalg.vector_norm(m - rm) + torch.linalg.vector_norm(v - rv)
             for m, v, rm, rv in zip(batch_means, batch_vars, running_means,
                                      running_vars)]
    return torch.stack(terms).sum()


def logits_distill_loss(preds_S: torch.Tensor, preds_T: torch.Tensor, mode: str = 'l1',
                        tau: float = 1.0) -> torch.Tensor:
    """``L_kd`` of the module docstring; the teacher side is detached."""
    if mode not in KD_MODES:
        raise ValueError(f'mode must be one of {KD_MODES}, got {mode!r}')
    preds_T = preds_T.detach()
    if mode == 'l1':
        return logits_discrepancy(preds_S, preds_T)
    _check_pair(preds_S, preds_T)
    log_p_s = F.log_softmax(preds_S / tau, dim=1)
    log_p_t = F.log_softmax(preds_T / tau, dim=1)
    return tau**2 * F.kl_div(log_p_s, log_p_t, reduction='batchmean', log_target=True)


class _WeightedLoss(nn.Module):

    def __init__(self, loss_weight: float = 1.0) -> None:
        super().__init__()
        self.loss_weight = check_number(loss_weight, 'loss_weight')


@MODELS.register_module()
class HardSampleAdversarialLoss(_WeightedLoss):
    """G1's loss ``-loss_weight * mean |s - t|``: lower where the two disagree more.

    Args:
        loss_weight (float): >= 0.
    """

    def forward(self, preds_S: torch.Tensor, preds_T: torch.Tensor) -> torch.Tensor:
        return -self.loss_weight * logits_discrepancy(preds_S, preds_T)


@MODELS.register_module()
class TeacherOneHotLoss(_WeightedLoss):
    """G2's one-hot term ``loss_weight * CE(t, argmax t)``.

    Args:
        loss_weight (float): >= 0.
    """

    def forward(self, preds_T: torch.Tensor) -> torch.Tensor:
        return self.loss_weight * onehot_loss(preds_T)


@MODELS.register_module()
class ClassBalanceEntropyLoss(_WeightedLoss):
    """G2's information-entropy term ``loss_weight * sum_k p_bar_k log p_bar_k``.

    Computed over the samples of one process (no gather across DDP ranks).

    Args:
        loss_weight (float): >= 0.
    """

    def forward(self, preds_T: torch.Tensor) -> torch.Tensor:
        return self.loss_weight * information_entropy_loss(preds_T)


@MODELS.register_module()
class BNStatisticsLoss(_WeightedLoss):
    """G2's BN-statistics term (DeepInversion), summed over the teacher's BN layers.

    Args:
        loss_weight (float): >= 0.
    """

    def forward(self, batch_means: Sequence[torch.Tensor],
                batch_vars: Sequence[torch.Tensor],
                running_means: Sequence[torch.Tensor],
                running_vars: Sequence[torch.Tensor]) -> torch.Tensor:
        return self.loss_weight * bn_statistics_loss(batch_means, batch_vars,
                                                     running_means, running_vars)


@MODELS.register_module()
class LogitsDistillLoss(_WeightedLoss):
    """The student's loss on generated samples: L1 (DFAD) or KL with temperature.

    Args:
        mode (str): ``'l1'`` or ``'kl'``.
        tau (float): > 0, the KL temperature (unused by ``'l1'``).
        loss_weight (float): >= 0.
    """

    def __init__(self, mode: str = 'l1', tau: float = 1.0,
                 loss_weight: float = 1.0) -> None:
        super().__init__(loss_weight)
        if mode not in KD_MODES:
            raise ValueError(f'mode must be one of {KD_MODES}, got {mode!r}')
        self.mode = mode
        self.tau = check_number(tau, 'tau', strict=True)

    def forward(self, preds_S: torch.Tensor, preds_T: torch.Tensor) -> torch.Tensor:
        return self.loss_weight * logits_distill_loss(preds_S, preds_T, self.mode,
                                                      self.tau)
