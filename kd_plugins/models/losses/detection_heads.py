"""Reading raw detection-head outputs: box regression, objectness, class logits.

The confidence-guided losses (M1 box term, M2) work on what a detector's head emits
before decoding. Three layouts are understood, named by the mmdet head type that emits
them (``head_type`` in the loss configs):

- ``'YOLOV3Head'``: one map per level, ``(N, A * (5 + C), H, W)``, anchor-major; per
  anchor ``[tx, ty, tw, th, objectness, class_1..class_C]`` (sigmoid for xy, obj, cls).
  Teacher confidence = sigmoid(objectness) * max_c sigmoid(class_c).
- ``'RPNHead'``: per level ``rpn_cls`` logits ``(N, A, H, W)`` (sigmoid objectness) and
  ``rpn_reg`` deltas ``(N, A * 4, H, W)``. Teacher confidence = sigmoid(objectness).
- ``'BBoxHead'`` (any mmdet ``BBoxHead``, e.g. ``Shared2FCBBoxHead`` of Faster R-CNN):
  per RoI ``cls_score`` ``(R, C + 1)`` (softmax, background last) and ``bbox_pred``
  ``(R, 4)`` or ``(R, 4 * C)``. Teacher confidence = 1 - p(background).
"""
import torch

# mmdet class names accepted, each mapped to the layout it emits
HEAD_TYPE_ALIASES = {
    'YOLOV3Head': 'YOLOV3Head',
    'RPNHead': 'RPNHead',
    'BBoxHead': 'BBoxHead',
    'ConvFCBBoxHead': 'BBoxHead',
    'Shared2FCBBoxHead': 'BBoxHead',
    'Shared4Conv1FCBBoxHead': 'BBoxHead',
}
SUPPORTED_HEAD_TYPES = tuple(dict.fromkeys(HEAD_TYPE_ALIASES.values()))


def check_head_type(head_type, field: str = 'head_type') -> str:
    """The layout name for ``head_type``; a clear error for an unknown one."""
    layout = HEAD_TYPE_ALIASES.get(head_type) if isinstance(head_type, str) else None
    if layout is None:
        raise ValueError(
            f'{field}: unknown head type {head_type!r}; confidence-guided distillation '
            f'understands {sorted(HEAD_TYPE_ALIASES)}')
    return layout


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


def split_rpn_reg(reg: torch.Tensor) -> torch.Tensor:
    """``(N, A * 4, H, W)`` RPN deltas as ``(N, A, 4, H, W)``."""
    if reg.dim() != 4 or reg.size(1) % 4:
        raise ValueError(f'RPN rpn_reg output is (N, A*4, H, W), got {tuple(reg.shape)}')
    n, ch, h, w = reg.shape
    return reg.reshape(n, ch // 4, 4, h, w)


def confidence_map(layout: str, teacher_out: torch.Tensor,
                   num_anchors: int = 3) -> torch.Tensor:
    """Teacher confidence in [0, 1]: ``(N, A, H, W)`` dense, ``(R,)`` per RoI."""
    if layout == 'YOLOV3Head':
        _, obj, cls = split_yolov3(teacher_out, num_anchors)
        return obj.sigmoid() * cls.sigmoid().amax(dim=2)
    if layout == 'RPNHead':
        if teacher_out.dim() != 4:
            raise ValueError('RPN rpn_cls output is (N, A, H, W), got '
                             f'{tuple(teacher_out.shape)}')
        return teacher_out.sigmoid()
    if teacher_out.dim() != 2:
        raise ValueError(f'BBoxHead cls_score is (R, C+1), got {tuple(teacher_out.shape)}')
    return 1.0 - teacher_out.softmax(dim=1)[:, -1]
