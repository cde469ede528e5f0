"""Confidence-guided detection distillation (method M2 of DESIGN.md; the regression term
is also M1's box-output distillation).

The teacher's per-location confidence ``c`` (see :mod:`.detection_heads`: YOLOv3
objectness x class score, RPN objectness, RoI foreground probability) drives three terms,
none of which needs ground-truth boxes:

Soft labels, temperature ``T`` (binary KL for sigmoid outputs, KL for softmax ones):

    YOLOv3:  L_soft = T^2/N * [ sum_a KLb(obj_T/T || obj_S/T)
                              + sum_{a,c} sigmoid(obj_T) KLb(cls_T/T || cls_S/T) ]
    RPN:     L_soft = T^2/N * sum_a KLb(obj_T/T || obj_S/T)
    dense (RetinaNet, GFL, RTMDet, YOLOX class maps; YOLOX's objectness map too):
             L_soft = T^2/N * sum_{a,c} KLb(cls_T/T || cls_S/T)
    RoI:     L_soft = T^2/R * sum_r KL(softmax(s_T/T) || softmax(s_S/T))

    with KLb(u || v) = t log(t/s) + (1-t) log((1-t)/(1-s)), t = sigmoid(u), s = sigmoid(v)

Confident box regression (teacher boxes as targets where the teacher is sure):

    w = c * [c >= conf_thr];   L_reg = sum w e(b_S, b_T) / max(sum w, 1)

    e = ||b_S - b_T||^2 of the head's box values; for GFL the KL of the teacher's
    side distributions from the student's (:func:`.detection_heads.box_error`)

Confidence-masked features: locations where the teacher is confident (max over anchors
of ``c`` resized to the feature grid, ``>= conf_thr``) form the foreground ``M``,
optionally united with ground-truth box regions (``use_gt`` of the algorithm):

    d = mean_c (F_S - F_T)^2
    L_feat = sum(M c d) / max(sum(M c), eps) + bg_weight * sum((1-M) d) / max(sum(1-M), 1)

    (with ``normalize=True``, ``d`` compares per-channel standardised features)

Config::

    distill_losses=dict(
        loss_soft0=dict(type='ConfidenceSoftLabelLoss', head_type='YOLOV3Head',
                        temperature=2.0, loss_weight=1.0),
        loss_reg0=dict(type='ConfidentRegressionLoss', head_type='YOLOV3Head',
                       conf_thr=0.3, loss_weight=1.0),
        loss_feat0=dict(type='ConfidenceMaskedFeatureLoss', head_type='YOLOV3Head',
                        conf_thr=0.3, loss_weight=1.0)),
    loss_forward_mappings=dict(
        loss_soft0=dict(preds_S=dict(from_student=True, recorder='head', data_idx=0),
                        preds_T=dict(from_student=False, recorder='head', data_idx=0)),
        loss_feat0=dict(preds_S=dict(from_student=True, recorder='neck', data_idx=0,
                                     connector='neck0_s'),
                        preds_T=dict(from_student=False, recorder='neck', data_idx=0),
                        conf_T=dict(from_student=False, recorder='head', data_idx=0)))
"""
import math
from typing import Callable, List, Optional, Sequence

import torch
import torch.nn.functional as F
from mmrazor.registry import MODELS
from torch import nn

from .attention_imitation import check_temperature
from .detection_heads import (SIGMOID_DENSE, box_error, box_values, check_head_type,
                              check_num_anchors, confidence_map, split_yolov3)
from .feature_norm import check_same_shape, standardize


def binary_kl(logits_S: torch.Tensor, logits_T: torch.Tensor) -> torch.Tensor:
    """Element-wise KL between Bernoulli(sigmoid(logits_T)) and Bernoulli(sigmoid(S))."""
    t = logits_T.sigmoid()
    return (F.binary_cross_entropy_with_logits(logits_S, t, reduction='none') -
            F.binary_cross_entropy_with_logits(logits_T, t, reduction='none'))


def binary_entropy(logits: torch.Tensor) -> torch.Tensor:
    """Element-wise entropy (nats) of Bernoulli(sigmoid(logits))."""
    return F.binary_cross_entropy_with_logits(logits, logits.sigmoid(), reduction='none')


def soft_label_loss(layout: str, preds_S: torch.Tensor, preds_T: torch.Tensor,
                    temperature: float, num_anchors: int = 3,
                    weigh: Optional[Callable] = None) -> torch.Tensor:
    """``L_soft`` of the module docstring (teacher side detached).

    ``weigh(kl, entropy_T)``, if given, returns a weight per KL term (same shape): the
    divergence of that term and the entropy of the teacher's soft target there (M3's
    adaptive weight, :mod:`.adaptive_distill`).
    """
    preds_T = preds_T.detach()
    if preds_S.shape != preds_T.shape:
        raise ValueError(f'student head output {tuple(preds_S.shape)} and teacher '
                         f'{tuple(preds_T.shape)} differ (same anchors/classes needed)')
    t = temperature

    def bin_terms(logits_S, logits_T):
        kl = binary_kl(logits_S / t, logits_T / t)
        return kl if weigh is None else kl * weigh(kl, binary_entropy(logits_T / t))

    if layout == 'YOLOV3Head':
        _, obj_s, cls_s = split_yolov3(preds_S, num_anchors)
        _, obj_t, cls_t = split_yolov3(preds_T, num_anchors)
        obj_term = bin_terms(obj_s, obj_t).sum()
        cls_term = (obj_t.sigmoid().unsqueeze(2) * bin_terms(cls_s, cls_t)).sum()
        return t * t * (obj_term + cls_term) / preds_S.size(0)
    if layout == 'RPNHead' or layout in SIGMOID_DENSE:
        return t * t * bin_terms(preds_S, preds_T).sum() / preds_S.size(0)
    if preds_S.numel() == 0:
        return preds_S.sum() * 0.0
    log_q = F.log_softmax(preds_T / t, dim=1)
    kl = F.kl_div(F.log_softmax(preds_S / t, dim=1), log_q, reduction='none',
                  log_target=True).sum(dim=1)
    if weigh is not None:
        kl = kl * weigh(kl, -(log_q.exp() * log_q).sum(dim=1))
    return t * t * kl.sum() / preds_S.size(0)


def confident_regression_loss(layout: str, preds_S: torch.Tensor,
                              preds_T: torch.Tensor, conf: torch.Tensor,
                              conf_thr: float, num_anchors: int = 3) -> torch.Tensor:
    """``L_reg`` of the module docstring; ``conf`` per anchor (dense) or per RoI."""
    b_s = box_values(layout, preds_S, num_anchors)
    b_t = box_values(layout, preds_T.detach(), num_anchors)
    if b_s.shape != b_t.shape:
        raise ValueError(f'student box output {tuple(b_s.shape)} and teacher '
                         f'{tuple(b_t.shape)} differ')
    conf = conf.detach()
    if layout == 'BBoxHead':
        conf = conf.reshape(-1, 1)
    w = conf * (conf >= conf_thr).to(conf.dtype)
    err = box_error(layout, b_s, b_t)  # (N, A, H, W) or (R, 1)
    return (w * err).sum() / w.sum().clamp(min=1.0)


def boxes_to_mask(gt_boxes: Sequence[torch.Tensor], input_hw, feat_hw,
                  device=None) -> torch.Tensor:
    """``(N, H, W)`` mask of the feature cells a ground-truth box covers."""
    h, w = feat_hw
    mask = torch.zeros(len(gt_boxes), h, w, device=device)
    sy, sx = h / float(input_hw[0]), w / float(input_hw[1])
    for i, boxes in enumerate(gt_boxes):
        for x1, y1, x2, y2 in boxes.reshape(-1, 4).tolist():
            c0, c1 = max(0, int(x1 * sx)), min(w, math.ceil(x2 * sx))
            r0, r1 = max(0, int(y1 * sy)), min(h, math.ceil(y2 * sy))
            mask[i, r0:max(r1, r0 + 1), c0:max(c1, c0 + 1)] = 1.0
    return mask


def confidence_masked_feature_loss(preds_S: torch.Tensor, preds_T: torch.Tensor,
                                   conf: torch.Tensor, conf_thr: float,
                                   bg_weight: float = 0.1,
                                   gt_mask: Optional[torch.Tensor] = None,
                                   normalize: bool = False):
    """``L_feat`` of the module docstring; ``conf`` is ``(N, H', W')`` in [0, 1]."""
    check_same_shape(preds_S, preds_T)
    conf = conf.detach()
    if conf.shape[-2:] != preds_T.shape[-2:]:
        conf = F.interpolate(conf.unsqueeze(1), size=preds_T.shape[-2:],
                             mode='nearest').squeeze(1)
    fg = (conf >= conf_thr).to(conf.dtype)
    weight = fg * conf
    if gt_mask is not None:
        fg = torch.maximum(fg, gt_mask)
        weight = torch.maximum(weight, gt_mask)
    preds_T = preds_T.detach()
    if normalize:
        preds_S, preds_T = standardize(preds_S), standardize(preds_T)
    d = (preds_S - preds_T).pow(2).mean(dim=1)
    fg_term = (weight * d).sum() / weight.sum().clamp(min=1e-6)
    bg = 1.0 - fg
    bg_term = (bg * d).sum() / bg.sum().clamp(min=1.0)
    return fg_term + bg_weight * bg_term


class _HeadLoss(nn.Module):
    """Common arguments: which head layout, how many anchors per location."""

    def __init__(self, head_type: str, loss_weight: float, num_anchors: Optional[int]):
        super().__init__()
        self.layout = check_head_type(head_type)
        self.head_type = head_type
        self.loss_weight = loss_weight
        self.num_anchors = check_num_anchors(self.layout, num_anchors)


def _check_thr(conf_thr):
    if not isinstance(conf_thr, (int, float)) or not 0 <= conf_thr < 1:
        raise ValueError(f'conf_thr must be in [0, 1), got {conf_thr!r}')
    return float(conf_thr)


@MODELS.register_module()
class ConfidenceSoftLabelLoss(_HeadLoss):
    """Temperature-scaled soft labels from the teacher's head outputs (M2).

    Args:
        head_type (str): the mmdet head that emits the outputs: ``'YOLOV3Head'``,
            ``'RPNHead'``, ``'BBoxHead'`` (aliases: ``Shared2FCBBoxHead`` ...),
            ``'RetinaHead'``, ``'GFLHead'``, ``'RTMDetHead'`` (``RTMDetSepBNHead``) or
            ``'YOLOXHead'``; see :mod:`.detection_heads`.
        temperature (float): > 0; soft targets are ``sigmoid(z_T / T)`` /
            ``softmax(z_T / T)``, the loss is scaled by ``T^2``.
        loss_weight (float): weight of the loss.
        num_anchors (int, optional): anchors per location; None: the head's mmdet
            default (YOLOv3 3, RetinaNet 9, GFL / RTMDet / YOLOX 1).
    """

    def __init__(self, head_type: str, temperature: float = 1.0,
                 loss_weight: float = 1.0, num_anchors: Optional[int] = None):
        super().__init__(head_type, loss_weight, num_anchors)
        check_temperature(temperature)
        self.temperature = float(temperature)

    def forward(self, preds_S: torch.Tensor, preds_T: torch.Tensor) -> torch.Tensor:
        return self.loss_weight * soft_label_loss(self.layout, preds_S, preds_T,
                                                  self.temperature, self.num_anchors)


@MODELS.register_module()
class ConfidentRegressionLoss(_HeadLoss):
    """Box-regression outputs distilled where the teacher is confident (M1, M2).

    ``preds_S`` / ``preds_T`` are the box outputs (the whole YOLOv3 level map, RPN
    ``rpn_reg``, RoI ``bbox_pred``, a dense head's box map); ``conf_T`` is the teacher
    output the confidence is read from (YOLOv3: not needed, the map holds it; RPN:
    ``rpn_cls``; RoI: ``cls_score``; dense heads: the class map), ``obj_T`` the
    teacher's objectness map where the head has one (YOLOX).

    Args:
        head_type (str): see :class:`ConfidenceSoftLabelLoss`.
        conf_thr (float): teacher confidence below which a location is not distilled.
        loss_weight (float): weight of the loss.
        num_anchors (int, optional): anchors per location (None: the head's default).
    """

    def __init__(self, head_type: str, conf_thr: float = 0.3,
                 loss_weight: float = 1.0, num_anchors: Optional[int] = None):
        super().__init__(head_type, loss_weight, num_anchors)
        self.conf_thr = _check_thr(conf_thr)

    def forward(self, preds_S: torch.Tensor, preds_T: torch.Tensor,
                conf_T: Optional[torch.Tensor] = None,
                obj_T: Optional[torch.Tensor] = None) -> torch.Tensor:
        if conf_T is None:
            if self.layout != 'YOLOV3Head':
                raise ValueError(f'{self.head_type}: ConfidentRegressionLoss needs '
                                 'conf_T (the teacher classification output)')
            conf_T = preds_T
        conf = confidence_map(self.layout, conf_T, self.num_anchors, obj_T)
        return self.loss_weight * confident_regression_loss(
            self.layout, preds_S, preds_T, conf, self.conf_thr, self.num_anchors)


@MODELS.register_module()
class ConfidenceMaskedFeatureLoss(_HeadLoss):
    """Feature distillation on the regions the teacher is confident about (M2).

    ``conf_T`` is the teacher head output of the level with this feature's stride
    (YOLOv3 level map, RPN ``rpn_cls``, a dense head's class map), ``obj_T`` its
    objectness map where the head has one (YOLOX). Ground-truth boxes join the
    foreground only when the algorithm hands them over
    (``ConfidenceGuidedDistill(use_gt=True)``).

    Args:
        head_type (str): a dense head (any of :class:`ConfidenceSoftLabelLoss`'s but
            ``'BBoxHead'``).
        conf_thr (float): teacher confidence that makes a location foreground.
        bg_weight (float): weight of the background (non-selected) term.
        loss_weight (float): weight of the loss.
        num_anchors (int, optional): anchors per location (None: the head's default).
        normalize (bool): compare per-channel standardised features.
    """
    uses_gt = True

    def __init__(self, head_type: str, conf_thr: float = 0.3, bg_weight: float = 0.1,
                 loss_weight: float = 1.0, num_anchors: Optional[int] = None,
                 normalize: bool = False):
        super().__init__(head_type, loss_weight, num_anchors)
        if self.layout == 'BBoxHead':
            raise ValueError(f'head_type: {head_type!r} has no feature grid; use a '
                             "dense head (e.g. 'YOLOV3Head', 'RPNHead', 'RetinaHead') "
                             'for the mask')
        self.conf_thr = _check_thr(conf_thr)
        self.bg_weight = float(bg_weight)
        self.normalize = bool(normalize)
        self.set_gt(None)

    def set_gt(self, gt_boxes: Optional[List[torch.Tensor]], input_hw=None):
        """Ground-truth boxes (input-pixel xyxy per image) for the next forward."""
        self._gt_boxes, self._input_hw = gt_boxes, input_hw

    def forward(self, preds_S: torch.Tensor, preds_T: torch.Tensor,
                conf_T: torch.Tensor,
                obj_T: Optional[torch.Tensor] = None) -> torch.Tensor:
        conf = confidence_map(self.layout, conf_T, self.num_anchors, obj_T)
        conf = conf.amax(dim=1)  # best anchor per location
        gt_mask = None
        if self._gt_boxes is not None:
            gt_mask = boxes_to_mask(self._gt_boxes, self._input_hw,
                                    preds_T.shape[-2:], device=preds_T.device)
        return self.loss_weight * confidence_masked_feature_loss(
            preds_S, preds_T, conf, self.conf_thr, self.bg_weight, gt_mask,
            self.normalize)
