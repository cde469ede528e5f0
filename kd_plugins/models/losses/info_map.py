"""Information-map feature distillation (method M4 of DESIGN.md).

An *information map* says how much each location of a teacher feature tells: a location
whose feature vector stands out from the image's average feature (an object, an edge)
carries more than one that looks like everything else (flat background). For a teacher
feature ``F_T`` of shape ``(N, C, H, W)`` and temperature ``T``:

    d(n, h, w) = || F_T(n, :, h, w) - mean_{h,w} F_T(n, :, h, w) ||_2
    d~         = d / mean_{h,w} d                       (scale-free per image)
    I(n, h, w) = H * W * softmax_{h,w}( d~ / T )         (averages 1 per image)
    L_info     = loss_weight * mean_{n,h,w}( I * mean_c (F_S - F_T)^2 )

With ``normalize=True`` the squared error compares per-channel standardised features
(:func:`.feature_norm.standardize`); the map always comes from the raw teacher feature.

The loss is applied at every backbone output *and* every neck output, each level with
its own adaptation layer (connector) where the student is narrower, so the student
learns the teacher's important knowledge both where features are extracted and where
they are fused. Follows Li et al., "Knowledge distillation for object detection based on
information map" (Computer Engineering and Applications 58(17), 2022), which reports
+9.3 mAP for a YOLOv3 student.

Config::

    distill_losses=dict(loss_info_bb0=dict(
        type='InfoMapDistillLoss', temperature=1.0, loss_weight=1.0)),
    loss_forward_mappings=dict(loss_info_bb0=dict(
        preds_S=dict(from_student=True, recorder='backbone', data_idx=0,
                     connector='bb0_s'),
        preds_T=dict(from_student=False, recorder='backbone', data_idx=0)))
"""
import torch
import torch.nn.functional as F
from mmrazor.registry import MODELS
from torch import nn

from .attention_imitation import check_temperature
from .feature_norm import check_same_shape, standardize


def information_map(feat_T: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """``(N, H, W)`` importance per location, mean 1 per image (no gradient)."""
    feat_T = feat_T.detach()
    n, _, h, w = feat_T.shape
    centred = feat_T - feat_T.mean(dim=(2, 3), keepdim=True)
    d = centred.pow(2).sum(dim=1).sqrt().reshape(n, -1)
    d = d / d.mean(dim=1, keepdim=True).clamp(min=1e-12)
    return (h * w * F.softmax(d / temperature, dim=1)).reshape(n, h, w)


def info_map_distill_loss(preds_S: torch.Tensor, preds_T: torch.Tensor,
                          temperature: float = 1.0,
                          normalize: bool = False) -> torch.Tensor:
    check_same_shape(preds_S, preds_T)
    info = information_map(preds_T, temperature)
    preds_T = preds_T.detach()
    if normalize:
        preds_S, preds_T = standardize(preds_S), standardize(preds_T)
    d = (preds_S - preds_T).pow(2).mean(dim=1)
    return (info * d).mean()


@MODELS.register_module()
class InfoMapDistillLoss(nn.Module):
    """Feature MSE weighted per location by the teacher's information map (M4).

    Args:
        temperature (float): > 0; lower concentrates the weight on fewer locations.
        loss_weight (float): weight of the loss.
        normalize (bool): compare per-channel standardised features.
    """

    def __init__(self, temperature: float = 1.0, loss_weight: float = 1.0,
                 normalize: bool = False):
        super().__init__()
        check_temperature(temperature)
        self.temperature = float(temperature)
        self.loss_weight = loss_weight
        self.normalize = bool(normalize)

    def forward(self, preds_S: torch.Tensor, preds_T: torch.Tensor) -> torch.Tensor:
        return self.loss_weight * info_map_distill_loss(
            preds_S, preds_T, self.temperature, self.normalize)
