"""Reading raw detection-head outputs: box regression, objectness, class logits.

The confidence-guided losses (M1 box term, M2, M3) work on what a detector's head emits
before decoding. Each mmdet head family has a layout, named by the head type that emits
it (``head_type`` in the loss configs; subclasses are accepted by their base's name):

- ``'YOLOV3Head'``: one map per level, ``(N, A * (5 + C), H, W)``, anchor-major; per
  anchor ``[tx, ty, tw, th, objectness, class_1..class_C]`` (sigmoid for xy, obj, cls).
  Teacher confidence = sigmoid(objectness) * max_c sigmoid(class_c).
- ``'RPNHead'``: per level ``rpn_cls`` logits ``(N, A, H, W)`` (sigmoid objectness) and
  ``rpn_reg`` deltas ``(N, A * 4, H, W)``. Teacher confidence = sigmoid(objectness).
- ``'BBoxHead'`` (any mmdet ``BBoxHead``, e.g. ``Shared2FCBBoxHead`` of Faster R-CNN):
  per RoI ``cls_score`` ``(R, C + 1)`` (softmax, background last) and ``bbox_pred``
  ``(R, 4)`` or ``(R, 4 * C)``. Teacher confidence = 1 - p(background).
- Dense heads with sigmoid class maps ``(N, A * C, H, W)``, teacher confidence
  max_c sigmoid(class_c) per anchor (times sigmoid(objectness) where the head has one
  and the loss is given it):

  - ``'RetinaHead'`` (``retina_cls`` / ``retina_reg``; A = 9): box deltas
    ``(N, A * 4, H, W)``;
  - ``'RTMDetHead'`` (also ``RTMDetSepBNHead``; ``rtm_cls`` / ``rtm_reg``; A = 1): box
    distances to the four sides ``(N, 4, H, W)`` in stride units (or their logs with
    ``exp_on_reg``);
  - ``'YOLOXHead'`` (``multi_level_conv_cls`` / ``_reg`` / ``_obj``; A = 1): box
    ``(N, 4, H, W)`` = centre offset and log size in stride units; objectness
    ``(N, 1, H, W)``;
  - ``'GFLHead'`` (``gfl_cls``; box from ``scales.<level>``; A = 1): box
    distributions ``(N, 4 * (R + 1), H, W)``, R + 1 bins per side (Distribution Focal
    Loss; R = ``reg_max``, 16 in mmdet).

Box error per anchor (what the confident regression term weights): squared distance of
the box values, summed over the coordinates; for ``'GFLHead'`` the KL divergence of the
teacher's side distributions from the student's, summed over the four sides (the
localisation distillation of Zheng et al., CVPR 2022, on GFL's own output).
"""
from typing import Dict, Optional

import torch
import torch.nn.functional as F
from torch import nn

# mmdet class names accepted, each mapped to the layout it emits
HEAD_TYPE_ALIASES = {
    'YOLOV3Head': 'YOLOV3Head',
    'RPNHead': 'RPNHead',
    'BBoxHead': 'BBoxHead',
    'ConvFCBBoxHead': 'BBoxHead',
    'Shared2FCBBoxHead': 'BBoxHead',
    'Shared4Conv1FCBBoxHead': 'BBoxHead',
    'RetinaHead': 'RetinaHead',
    'RTMDetHead': 'RTMDetHead',
    'RTMDetSepBNHead': 'RTMDetHead',
    'YOLOXHead': 'YOLOXHead',
    'GFLHead': 'GFLHead',
}
SUPPORTED_HEAD_TYPES = tuple(dict.fromkeys(HEAD_TYPE_ALIASES.values()))
# the dense layouts whose class output is a sigmoid map (N, A * C, H, W)
SIGMOID_DENSE = ('RetinaHead', 'RTMDetHead', 'YOLOXHead', 'GFLHead')
# anchors per location of each layout as mmdet configures it (the loss default)
DEFAULT_NUM_ANCHORS = {'YOLOV3Head': 3, 'RPNHead': 3, 'BBoxHead': 1, 'RetinaHead': 9,
                       'RTMDetHead': 1, 'YOLOXHead': 1, 'GFLHead': 1}


def check_head_type(head_type, field: str = 'head_type') -> str:
    """The layout name for ``head_type``; a clear error for an unknown one."""
    layout = HEAD_TYPE_ALIASES.get(head_type) if isinstance(head_type, str) else None
    if layout is None:
        raise ValueError(
            f'{field}: unknown head type {head_type!r}; confidence-guided distillation '
            f'understands {sorted(HEAD_TYPE_ALIASES)}')
    return layout


def head_layout_of(module: nn.Module) -> Optional[str]:
    """The layout a module emits, by its class or the nearest supported base class."""
    for cls in type(module).__mro__:
        if cls.__name__ in HEAD_TYPE_ALIASES:
            return HEAD_TYPE_ALIASES[cls.__name__]
    return None


def detector_head_layouts(detector: nn.Module) -> Dict[str, str]:
    """``{layout: head class name}`` of the detection heads inside ``detector``."""
    found = {}
    for module in detector.modules():
        layout = head_layout_of(module)
        if layout is not None:
            found.setdefault(layout, type(module).__name__)
    return found


def check_detector_heads(losses: Dict[str, nn.Module], models: Dict[str, nn.Module],
                         error=ValueError) -> None:
    """Every head-output loss of ``losses`` (those with a ``layout``) reads a head that
    each detector of ``models`` (e.g. student and teacher) has; the message names the
    loss, its ``head_type``, the detector's heads and what is supported."""
    head_losses = {k: loss for k, loss in losses.items()
                   if getattr(loss, 'layout', None) is not None}
    if not head_losses:
        return
    heads = {name: detector_head_layouts(m) for name, m in models.items()}
    for loss_name, loss in head_losses.items():
        layout = loss.layout
        for name, found in heads.items():
            if layout not in found:
                have = sorted(found.values()) or [
                    'none that confidence-guided distillation reads']
                raise error(
                    f'distill_losses.{loss_name}: head_type '
                    f'{getattr(loss, "head_type", layout)!r} but the {name} has heads '
                    f'{have}; set head_type to one of them (supported head types: '
                    f'{sorted(HEAD_TYPE_ALIASES)})')


def check_num_anchors(layout: str, num_anchors) -> int:
    """``num_anchors`` (None: the layout's mmdet default) as a positive int."""
    if num_anchors is None:
        return DEFAULT_NUM_ANCHORS[layout]
    if isinstance(num_anchors, bool) or not isinstance(num_anchors, int) \
            or num_anchors < 1:
        raise ValueError(f'num_anchors must be a positive int, got {num_anchors!r}')
    return num_anchors


def split_yolov3(pred_map: torch.Tensor, num_anchors: int = 3):
    """``(reg (N,A,4,H,W), obj (N,A,H,W), cls (N,A,C,H,W))`` of a YOLOv3 level map."""
    if pred_map.dim() != 4 or pred_map.size(1) % num_anchors:
        raise ValueError(
            f'a YOLOV3Head level map is (N, A*(5+C), H, W) with A={num_anchors}, got '
            f'{tuple(pred_map.shape)}')
    n, ch, h, w = pred_map.shape
    attrib = ch // num_anchors
    if attrib < 6:
        raise ValueError(f'a YOLOV3Head anchor needs 5 + C >= 6 values, got {attrib}')
    p = pred_map.reshape(n, num_anchors, attrib, h, w)
    return p[:, :, :4], p[:, :, 4], p[:, :, 5:]


def yolov3_box_values(reg: torch.Tensor) -> torch.Tensor:
    """The box parameters YOLOv3 decodes: sigmoid(tx, ty) and raw (tw, th)."""
    return torch.cat([reg[:, :, :2].sigmoid(), reg[:, :, 2:]], dim=2)


def split_anchors(out: torch.Tensor, num_anchors: int, what: str,
                  per_anchor: Optional[int] = None) -> torch.Tensor:
    """``(N, A * K, H, W)`` as ``(N, A, K, H, W)`` (``K = per_anchor`` when given)."""
    if out.dim() != 4 or out.size(1) % num_anchors or (
            per_anchor is not None and out.size(1) != num_anchors * per_anchor):
        k = 'K' if per_anchor is None else per_anchor
        raise ValueError(f'{what} is (N, A*{k}, H, W) with A={num_anchors}, got '
                         f'{tuple(out.shape)}')
    n, ch, h, w = out.shape
    return out.reshape(n, num_anchors, ch // num_anchors, h, w)


def split_rpn_reg(reg: torch.Tensor) -> torch.Tensor:
    """``(N, A * 4, H, W)`` RPN deltas as ``(N, A, 4, H, W)``."""
    if reg.dim() != 4 or reg.size(1) % 4:
        raise ValueError(f'RPN rpn_reg output is (N, A*4, H, W), got {tuple(reg.shape)}')
    return split_anchors(reg, reg.size(1) // 4, 'RPN rpn_reg output', 4)


def confidence_map(layout: str, teacher_out: torch.Tensor, num_anchors: int = 3,
                   objectness: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Teacher confidence in [0, 1]: ``(N, A, H, W)`` dense, ``(R,)`` per RoI; a weight,
    so it carries no gradient.

    ``objectness`` (dense sigmoid layouts, e.g. YOLOX's ``(N, 1, H, W)`` logits)
    multiplies the class confidence when given."""
    teacher_out = teacher_out.detach()
    if layout == 'YOLOV3Head':
        _, obj, cls = split_yolov3(teacher_out, num_anchors)
        return obj.sigmoid() * cls.sigmoid().amax(dim=2)
    if layout == 'RPNHead':
        if teacher_out.dim() != 4:
            raise ValueError('RPN rpn_cls output is (N, A, H, W), got '
                             f'{tuple(teacher_out.shape)}')
        return teacher_out.sigmoid()
    if layout in SIGMOID_DENSE:
        conf = split_anchors(teacher_out, num_anchors,
                             f'a {layout} class map').sigmoid().amax(dim=2)
        if objectness is not None:
            obj = split_anchors(objectness.detach(), num_anchors,
                                f'a {layout} objectness map', 1)
            conf = conf * obj[:, :, 0].sigmoid()
        return conf
    if teacher_out.dim() != 2:
        raise ValueError(f'BBoxHead cls_score is (R, C+1), got {tuple(teacher_out.shape)}')
    return 1.0 - teacher_out.softmax(dim=1)[:, -1]


def box_values(layout: str, out: torch.Tensor, num_anchors: int = 3) -> torch.Tensor:
    """Box outputs per anchor / RoI, anchors on dim 1 and the values on dim 2
    (``'GFLHead'``: ``(N, 1, 4, R + 1, H, W)`` side-distribution logits)."""
    if layout == 'YOLOV3Head':
        return yolov3_box_values(split_yolov3(out, num_anchors)[0])
    if layout == 'RPNHead':
        return split_rpn_reg(out)
    if layout == 'GFLHead':
        b = split_anchors(out, 1, 'a GFLHead box distribution map')
        if b.size(2) % 4 or b.size(2) < 8:
            raise ValueError('a GFLHead box map is (N, 4*(reg_max+1), H, W), got '
                             f'{tuple(out.shape)}')
        n, _, ch, h, w = b.shape
        return b.reshape(n, 1, 4, ch // 4, h, w)
    if layout in SIGMOID_DENSE:
        return split_anchors(out, num_anchors, f'a {layout} box map', 4)
    return out.reshape(out.size(0), 1, -1)  # (R, 1, 4 or 4C)


def box_error(layout: str, b_s: torch.Tensor, b_t: torch.Tensor) -> torch.Tensor:
    """Per-anchor box error ``(N, A, H, W)`` / ``(R, 1)`` of :func:`box_values` outputs
    (teacher side detached by the caller)."""
    if layout == 'GFLHead':  # KL(teacher side distribution || student's), 4 sides
        log_t = F.log_softmax(b_t, dim=3)
        return F.kl_div(F.log_softmax(b_s, dim=3), log_t, reduction='none',
                        log_target=True).sum(dim=(2, 3))
    return (b_s - b_t).pow(2).sum(dim=2)

