"""Mutual metric-learning distillation (method M8 of DESIGN.md), the losses.

Embeddings ``e`` (N, D) of one batch with labels ``y``; every relational term works on
L2-normalised embeddings (``with_l2_norm``) and is scale-free, so a 128-d student and a
512-d teacher compare directly.

Relational structure (Park et al., "Relational Knowledge Distillation", CVPR 2019):

    distance  psi_D(i, j)    = ||e_i - e_j|| / mu,   mu = mean_{i != j} ||e_i - e_j||
    angle     psi_A(a, b, c) = < u(e_b - e_a), u(e_c - e_a) >,   u(v) = v / ||v||
                               (the cosine of the angle at vertex a)

Relational loss of a learner ``x`` towards a fixed target ``z`` (no gradient into z),
with per-anchor weights ``w`` (1 everywhere by default) and ``h`` the Huber (smooth L1)
function:

    L_D = sum_i w_i sum_{j != i} h(psi_D^x(i, j) - psi_D^z(i, j)) / (sum_i w_i (N - 1))
    L_A = sum_a w_a sum_{b, c != a} h(psi_A^x(a, b, c) - psi_A^z(a, b, c))
                                                          / (sum_a w_a (N - 1)^2)
    L   = loss_weight * (distance_weight * L_D + angle_weight * L_A)

M8 uses it in both directions: the *guide* term moves the student's structure towards the
teacher's, the *feedback* term moves the teacher's towards the student's, on the anchors
where the student separates its classes better (``student_better_anchors``):

    margin_i = min_{j: y_j != y_i} psi_D(i, j) - max_{j != i: y_j = y_i} psi_D(i, j)
    gate_i   = [margin_i(student) > margin_i(teacher)]

The task loss of both networks is the multi-similarity loss (Wang et al., "Multi-
Similarity Loss with General Pair Weighting for Deep Metric Learning", CVPR 2019), on
cosine similarities S of L2-normalised embeddings; for anchor i with positives P_i and
negatives N_i, pairs mined with margin eps (a positive is kept if
S_ij - eps < max_{N_i} S, a negative if S_ij + eps > min_{P_i} S):

    L_i = 1/alpha log(1 + sum_{kept P_i} exp(-alpha (S_ij - lam)))
        + 1/beta  log(1 + sum_{kept N_i} exp( beta  (S_ij - lam)))     L = mean_i L_i

It needs positives: every class in a batch must have at least 2 samples (use
``ClassBalancedSampler``); a batch without them is an error, not a silent zero.

Config::

    guide_loss=dict(type='MutualRelationalLoss', distance_weight=1.0, angle_weight=2.0,
                    loss_weight=1.0)
    head=dict(type='EmbeddingHead', in_channels=2048, embed_dim=512,
              loss=dict(type='MultiSimilarityLoss', alpha=2.0, beta=50.0, base=0.5))
"""
from typing import Optional

import torch
import torch.nn.functional as F
from mmpretrain.registry import MODELS as PRETRAIN_MODELS
from mmrazor.registry import MODELS as RAZOR_MODELS
from torch import nn

from ..utils.config_checks import check_number

SAMPLER_HINT = ("use train_dataloader.sampler=dict(type='ClassBalancedSampler', "
                'samples_per_class=K) with K >= 2 and a batch_size that is a multiple '
                'of K')


def check_positives(labels: torch.Tensor, what: str = 'the loss') -> None:
    """Every class of the batch has >= 2 samples and there are >= 2 classes."""
    labels = labels.reshape(-1)
    classes, counts = labels.unique(return_counts=True)
    lonely = classes[counts < 2]
    if lonely.numel():
        raise ValueError(
            f'{what} needs positives, but {lonely.numel()} class(es) of this batch of '
            f'{labels.numel()} have a single sample (labels {lonely[:5].tolist()}); '
            + SAMPLER_HINT)
    if classes.numel() < 2:
        raise ValueError(f'{what} needs negatives, but the whole batch of '
                         f'{labels.numel()} samples is one class; ' + SAMPLER_HINT)


def check_embedding_pair(preds: torch.Tensor, target: torch.Tensor) -> None:
    """Both ``(N, D)`` (any D each) with one row per sample of the same batch."""
    if preds.dim() != 2 or target.dim() != 2 or preds.size(0) != target.size(0):
        raise ValueError(f'embeddings must be (N, D) with one row per sample, got '
                         f'{tuple(preds.shape)} and {tuple(target.shape)}')


def _off_diagonal(n: int, device) -> torch.Tensor:
    return ~torch.eye(n, dtype=torch.bool, device=device)


def _pair_masks(labels: torch.Tensor) -> tuple:
    """``(positives, negatives)``: (N, N) masks of same-label pairs ``i != j`` and of
    different-label pairs."""
    same = labels[:, None] == labels[None, :]
    return same & _off_diagonal(len(labels), labels.device), ~same


def _masked_min(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Row minima of ``values`` over ``mask`` (the dtype's max where a row has none)."""
    top = torch.finfo(values.dtype).max
    return torch.where(mask, values, torch.full_like(values, top)).amin(1)


def _masked_max(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Row maxima of ``values`` over ``mask`` (minus the dtype's max where none)."""
    return -_masked_min(-values, mask)


def relative_distances(emb: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    """``(N, N)`` Euclidean distances divided by their mean over pairs ``i != j``
    (zero diagonal)."""
    n = emb.size(0)
    if n < 2:
        raise ValueError(f'relational terms need a batch of >= 2 embeddings, got {n}')
    sq = emb.pow(2).sum(1)
    d2 = (sq[:, None] + sq[None, :] - 2 * emb @ emb.t()).clamp(min=eps)
    off = _off_diagonal(n, emb.device)
    d = torch.where(off, d2.sqrt(), torch.zeros_like(d2))
    return d / d[off].mean().clamp(min=eps)


def angle_potentials(emb: torch.Tensor) -> torch.Tensor:
    """``(N, N, N)``: ``[a, b, c]`` is the cosine of the angle at vertex ``a`` between
    ``b`` and ``c`` (0 where ``b`` or ``c`` is ``a``)."""
    vec = F.normalize(emb[None, :, :] - emb[:, None, :], p=2, dim=2)  # [a, b] = e_b-e_a
    return vec @ vec.transpose(1, 2)


def _weighted_mean(values: torch.Tensor, weights: torch.Tensor,
                   per_anchor: int) -> torch.Tensor:
    """``sum_a w_a sum(values[a]) / (sum_a w_a * per_anchor)``; 0 (with the graph)
    when no anchor has weight."""
    total = weights.sum()
    summed = (values.flatten(1).sum(1) * weights).sum()
    if total <= 0:
        return summed * 0.0
    return summed / (total * per_anchor)


def relational_distance_loss(preds: torch.Tensor, target: torch.Tensor,
                             anchor_weights: Optional[torch.Tensor] = None
                             ) -> torch.Tensor:
    """``L_D`` of ``preds`` towards ``target`` (no gradient into ``target``)."""
    n = preds.size(0)
    dp, dt = relative_distances(preds), relative_distances(target.detach())
    off = _off_diagonal(n, preds.device)
    h = F.smooth_l1_loss(dp, dt, reduction='none') * off
    w = preds.new_ones(n) if anchor_weights is None else anchor_weights.to(preds)
    return _weighted_mean(h, w, n - 1)


def relational_angle_loss(preds: torch.Tensor, target: torch.Tensor,
                          anchor_weights: Optional[torch.Tensor] = None) -> torch.Tensor:
    """``L_A`` of ``preds`` towards ``target`` (no gradient into ``target``)."""
    n = preds.size(0)
    if n < 3:
        raise ValueError(f'the angle term needs a batch of >= 3 embeddings, got {n}')
    ap, at = angle_potentials(preds), angle_potentials(target.detach())
    h = F.smooth_l1_loss(ap, at, reduction='none')
    w = preds.new_ones(n) if anchor_weights is None else anchor_weights.to(preds)
    return _weighted_mean(h, w, (n - 1) ** 2)


@torch.no_grad()
def anchor_margins(emb: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """``(N,)`` hardest-pair margin of each anchor on the scale-free distances: nearest
    negative minus farthest positive (higher is better separated)."""
    d = relative_distances(emb.detach())
    pos, neg = _pair_masks(labels.reshape(-1).to(d.device))
    return _masked_min(d, neg) - _masked_max(d, pos)


def student_better_anchors(student: torch.Tensor, teacher: torch.Tensor,
                           labels: torch.Tensor) -> torch.Tensor:
    """``(N,)`` float gate: 1 where the student's anchor margin beats the teacher's."""
    check_positives(labels, 'the student-better feedback gate')
    s_emb = F.normalize(student.detach(), dim=1)
    t_emb = F.normalize(teacher.detach(), dim=1)
    return (anchor_margins(s_emb, labels) > anchor_margins(t_emb, labels)).float()


@RAZOR_MODELS.register_module()
class MutualRelationalLoss(nn.Module):
    """Scale-free distance + angle relational loss of ``preds`` towards ``target``.

    Args:
        distance_weight (float): weight of the distance term ``L_D``.
        angle_weight (float): weight of the angle term ``L_A``.
        with_l2_norm (bool): L2-normalise both embeddings first (default True).
        loss_weight (float): overall weight.
    """

    def __init__(self, distance_weight: float = 1.0, angle_weight: float = 2.0,
                 with_l2_norm: bool = True, loss_weight: float = 1.0) -> None:
        super().__init__()
        self.distance_weight = check_number(distance_weight, 'distance_weight')
        self.angle_weight = check_number(angle_weight, 'angle_weight')
        self.loss_weight = check_number(loss_weight, 'loss_weight')
        self.with_l2_norm = bool(with_l2_norm)

    def forward(self, preds: torch.Tensor, target: torch.Tensor,
                anchor_weights: Optional[torch.Tensor] = None) -> torch.Tensor:
        check_embedding_pair(preds, target)
        if self.with_l2_norm:
            preds, target = F.normalize(preds, dim=1), F.normalize(target, dim=1)
        loss = preds.sum() * 0.0
        if self.distance_weight:
            loss = loss + self.distance_weight * relational_distance_loss(
                preds, target, anchor_weights)
        if self.angle_weight:
            loss = loss + self.angle_weight * relational_angle_loss(
                preds, target, anchor_weights)
        return self.loss_weight * loss


def neighbour_distributions(emb: torch.Tensor, tau: float) -> torch.Tensor:
    """``(N, N)`` log of ``p_i(j) = softmax_{j != i}(cos(e_i, e_j) / tau)``: each anchor's
    distribution over the rest of the batch (the diagonal is excluded: ``-inf``)."""
    n = emb.size(0)
    if n < 2:
        raise ValueError(f'neighbour distributions need a batch of >= 2 embeddings, '
                         f'got {n}')
    x = F.normalize(emb, dim=1)
    logits = (x @ x.t()) / tau
    logits = logits.masked_fill(~_off_diagonal(n, emb.device), float('-inf'))
    return F.log_softmax(logits, dim=1)


def similarity_kl_loss(preds: torch.Tensor, target: torch.Tensor, tau: float = 0.1,
                       anchor_weights: Optional[torch.Tensor] = None) -> torch.Tensor:
    """``sum_i w_i KL(p^target_i || p^preds_i) / sum_i w_i`` of the neighbour
    distributions (``neighbour_distributions``; no gradient into ``target``)."""
    n = preds.size(0)
    log_p = neighbour_distributions(preds, tau)
    log_q = neighbour_distributions(target.detach(), tau)
    off = _off_diagonal(n, preds.device)
    zero = torch.zeros_like(log_p)
    kl = torch.where(off, log_q.exp() * (log_q - log_p), zero)
    w = preds.new_ones(n) if anchor_weights is None else anchor_weights.to(preds)
    return _weighted_mean(kl, w, 1)


@RAZOR_MODELS.register_module()
class MutualSimilarityKLLoss(nn.Module):
    """KL divergence between the batch neighbour distributions of ``target`` and
    ``preds`` (deep mutual learning's two-way KL, Zhang et al., CVPR 2018, on the
    embeddings' softmax over cosine similarities instead of class posteriors):

        p^x_i(j) = exp(cos(e^x_i, e^x_j) / tau) / sum_{k != i} exp(cos(e^x_i, e^x_k) / tau)
        L        = loss_weight * sum_i w_i KL(p^z_i || p^x_i) / sum_i w_i

    The nearest neighbours of each anchor carry most of the mass, which is what
    Recall@K scores; far pairs matter little (RKD's Huber terms weigh every pair alike).
    Scale-free like the relational terms (cosines of L2-normalised embeddings), so a
    128-d student and a 512-d teacher compare directly. Drop-in for
    ``MutualRelationalLoss`` in M8's ``guide_loss`` / ``feedback_loss``.

    Args:
        tau (float): temperature (> 0) of the softmax over cosine similarities.
        loss_weight (float): overall weight.

    Config::

        guide_loss=dict(type='MutualSimilarityKLLoss', tau=0.1, loss_weight=1.0)
    """

    def __init__(self, tau: float = 0.1, loss_weight: float = 1.0) -> None:
        super().__init__()
        self.tau = check_number(tau, 'tau', strict=True)
        self.loss_weight = check_number(loss_weight, 'loss_weight')

    def forward(self, preds: torch.Tensor, target: torch.Tensor,
                anchor_weights: Optional[torch.Tensor] = None) -> torch.Tensor:
        check_embedding_pair(preds, target)
        return self.loss_weight * similarity_kl_loss(preds, target, self.tau,
                                                     anchor_weights)


def multi_similarity_loss(emb: torch.Tensor, labels: torch.Tensor, alpha: float = 2.0,
                          beta: float = 50.0, base: float = 0.5,
                          margin: float = 0.1) -> torch.Tensor:
    """The multi-similarity loss of L2-normalised ``emb`` (module docstring)."""
    labels = labels.reshape(-1)
    if emb.dim() != 2 or emb.size(0) != labels.numel():
        raise ValueError(f'embeddings {tuple(emb.shape)} and labels '
                         f'{tuple(labels.shape)} must be (N, D) and (N,)')
    check_positives(labels, 'the multi-similarity loss')
    x = F.normalize(emb, dim=1)
    sim = x @ x.t()
    pos, neg = _pair_masks(labels.to(sim.device))
    s = sim.detach()
    keep_pos = pos & (s - margin < _masked_max(s, neg)[:, None])
    keep_neg = neg & (s + margin > _masked_min(s, pos)[:, None])
    zero = torch.zeros_like(sim)
    pos_sum = torch.where(keep_pos, torch.exp(-alpha * (sim - base)), zero).sum(1)
    neg_sum = torch.where(keep_neg, torch.exp(beta * (sim - base)), zero).sum(1)
    per_anchor = torch.log1p(pos_sum) / alpha + torch.log1p(neg_sum) / beta
    return per_anchor.mean()


@PRETRAIN_MODELS.register_module()
class MultiSimilarityLoss(nn.Module):
    """The task loss of kd_plugins' ``EmbeddingHead`` (mmpretrain's model registry).

    Args:
        alpha, beta (float): positive / negative scales.
        base (float): similarity offset ``lam``.
        margin (float): mining margin ``eps``.
        loss_weight (float): overall weight.
    """

    def __init__(self, alpha: float = 2.0, beta: float = 50.0, base: float = 0.5,
                 margin: float = 0.1, loss_weight: float = 1.0) -> None:
        super().__init__()
        self.alpha = check_number(alpha, 'alpha', strict=True)
        self.beta = check_number(beta, 'beta', strict=True)
        self.base = check_number(base, 'base', minimum=-1.0)
        self.margin = check_number(margin, 'margin')
        self.loss_weight = check_number(loss_weight, 'loss_weight')

    def forward(self, emb: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return self.loss_weight * multi_similarity_loss(
            emb, labels, self.alpha, self.beta, self.base, self.margin)
