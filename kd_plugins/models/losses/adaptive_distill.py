"""Adaptive soft-label distillation (method M3 of DESIGN.md, with its training step
:class:`kd_plugins.models.SemiAdaptiveDistill`).

M2's soft labels (:class:`.ConfidenceSoftLabelLoss`) weight every location alike, so the
many easy locations (confident background the student already copies) dominate,
labeled or not. M3 weights each soft-label term by how hard it is: hard for the teacher
(its soft target is uncertain: high entropy ``H(q)``) and hard for the student to
imitate (large divergence ``KL(q || p)``), with a focal-style weight:

    w = (1 - exp(-(KL + beta * H(q))))^gamma
    L_soft = T^2 / N * sum w * KL        (same terms and layouts as M2's L_soft)

    q, p: teacher / student soft targets at temperature T (sigmoid per anchor and class
    for YOLOv3 and RPN, softmax per RoI); H in nats (binary entropy <= ln 2).

``beta`` sets how much the teacher's uncertainty counts against the student's
divergence; ``gamma`` how sharply easy terms (``KL + beta H`` near 0) are weighted down
(``gamma = 0``: M2's soft-label loss). This is the adaptive distillation loss of Tang
et al., "Learning Efficient Detector with Semi-supervised Adaptive Distillation"
(arXiv:1901.00366); ``w`` is used as a weight (no gradient flows through it).

Config::

    loss_soft0=dict(type='AdaptiveSoftLabelLoss', head_type='YOLOV3Head',
                    temperature=2.0, beta=1.5, gamma=1.0, loss_weight=1.0)
"""
from typing import Optional

import torch
from mmrazor.registry import MODELS

from ..utils.config_checks import check_number
from .confidence_guided import ConfidenceSoftLabelLoss, soft_label_loss


def adaptive_weight(kl: torch.Tensor, entropy_T: torch.Tensor, beta: float,
                    gamma: float) -> torch.Tensor:
    """``(1 - exp(-(kl + beta * entropy_T)))^gamma``, detached, in [0, 1]."""
    hardness = (kl.detach().clamp(min=0) + beta * entropy_T.detach().clamp(min=0))
    return (-torch.expm1(-hardness)).pow(gamma)


@MODELS.register_module()
class AdaptiveSoftLabelLoss(ConfidenceSoftLabelLoss):
    """Soft labels weighted per location by teacher and student difficulty (M3).

    Args:
        head_type (str): any of :class:`ConfidenceSoftLabelLoss`'s (YOLOv3, RPN, RoI
            ``BBoxHead``, RetinaNet, GFL, RTMDet, YOLOX); see :mod:`.detection_heads`.
        temperature (float): > 0, as in :class:`ConfidenceSoftLabelLoss`.
        beta (float): >= 0, weight of the teacher's entropy in the hardness.
        gamma (float): >= 0, focusing exponent (0: every term weighs 1, i.e. M2).
        loss_weight (float): weight of the loss.
        num_anchors (int, optional): anchors per location (None: the head's default).
    """

    def __init__(self, head_type: str, temperature: float = 1.0, beta: float = 1.5,
                 gamma: float = 1.0, loss_weight: float = 1.0,
                 num_anchors: Optional[int] = None):
        super().__init__(head_type, temperature, loss_weight, num_anchors)
        self.beta = check_number(beta, 'beta')
        self.gamma = check_number(gamma, 'gamma')

    def weigh(self, kl: torch.Tensor, entropy_T: torch.Tensor) -> torch.Tensor:
        return adaptive_weight(kl, entropy_T, self.beta, self.gamma)

    def forward(self, preds_S: torch.Tensor, preds_T: torch.Tensor) -> torch.Tensor:
        return self.loss_weight * soft_label_loss(
            self.layout, preds_S, preds_T, self.temperature, self.num_anchors,
            weigh=self.weigh)
