"""Logit-standardised knowledge distillation (Sun et al., "Logit Standardization in
Knowledge Distillation", CVPR 2024), the loss M5's logit term can use.

Vanilla KD asks the student to match the teacher's logits up to a shared temperature,
so a small student must also reproduce the teacher's logit range, which it often cannot.
Standardising each sample's logits first transfers only their relative order and
spacing:

    z_hat = (z - mean_k z) / (std_k z + eps)                 (per sample, over K classes)
    L = tau^2 * mean_n KL( softmax(z_hat_T / tau) || softmax(z_hat_S / tau) )

(``std`` is the population standard deviation; ``tau^2`` keeps the gradient scale of
vanilla KD's ``tau^2 * KL``, as MMRazor's ``KLDivergence`` with ``batchmean``.) The
teacher side is detached.

Config::

    distill_losses=dict(loss_kd=dict(type='StandardizedKLDivergence', tau=2.0,
                                     loss_weight=1.0)),
    loss_forward_mappings=dict(loss_kd=dict(
        preds_S=dict(from_student=True, recorder='logits'),
        preds_T=dict(from_student=False, recorder='logits')))
"""
import torch
import torch.nn.functional as F
from mmrazor.registry import MODELS
from torch import nn

from ..utils.config_checks import check_number


def standardize_logits(logits: torch.Tensor, eps: float = 1e-7) -> torch.Tensor:
    """``z_hat`` of the module docstring for ``(N, K)`` logits."""
    mean = logits.mean(dim=1, keepdim=True)
    std = logits.std(dim=1, keepdim=True, unbiased=False)
    return (logits - mean) / (std + eps)


def standardized_kd_loss(preds_S: torch.Tensor, preds_T: torch.Tensor,
                         tau: float = 2.0) -> torch.Tensor:
    """``L`` of the module docstring (teacher side detached)."""
    if preds_S.dim() != 2 or preds_S.shape != preds_T.shape:
        raise ValueError('logit standardisation compares (N, K) logits of equal shape, '
                         f'got student {tuple(preds_S.shape)} and teacher '
                         f'{tuple(preds_T.shape)}')
    if preds_S.size(1) < 2:
        raise ValueError(f'logit standardisation needs at least 2 classes, got '
                         f'{preds_S.size(1)}')
    log_p_s = F.log_softmax(standardize_logits(preds_S) / tau, dim=1)
    p_t = F.softmax(standardize_logits(preds_T.detach()) / tau, dim=1)
    return tau ** 2 * F.kl_div(log_p_s, p_t, reduction='batchmean')


@MODELS.register_module()
class StandardizedKLDivergence(nn.Module):
    """KD on standardised logits (see the module docstring).

    Args:
        tau (float): > 0, temperature applied to the standardised logits.
        loss_weight (float): >= 0, weight of the loss.
    """

    def __init__(self, tau: float = 2.0, loss_weight: float = 1.0):
        super().__init__()
        self.tau = check_number(tau, 'tau', strict=True)
        self.loss_weight = check_number(loss_weight, 'loss_weight')

    def forward(self, preds_S: torch.Tensor, preds_T: torch.Tensor) -> torch.Tensor:
        return self.loss_weight * standardized_kd_loss(preds_S, preds_T, self.tau)
