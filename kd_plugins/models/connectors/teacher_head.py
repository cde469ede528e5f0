"""The teacher's head applied to the student's features (cross-head outputs).

A student neck level ``F_S^l``, mapped to the teacher's width by a 1x1 adaptation conv
``A`` (the feature adaptation layer M1 already uses for imitation), goes through the
teacher head's branch of that level ``H_T^l`` (frozen: the teacher's weights do not
change, gradients pass through them to ``A`` and the student):

    y_x^l = H_T^l(A(F_S^l))

Distilling ``y_x^l`` towards the teacher's own output ``y_T^l = H_T^l(F_T^l)`` (with the
head-output terms of :mod:`..losses.confidence_guided`: soft labels and confident box
regression) gives the student's features a target in the teacher's output space, where
the teacher's "high-level network" supervises them (M1, ../shared/research/ 000), and
leaves the student's own head to the ground truth. This is the cross-head distillation
of CrossKD (Wang et al., "CrossKD: Cross-Head Knowledge Distillation for Object
Detection", CVPR 2024).

Heads (``head_type``, the output passed on):
    YOLOV3Head:   convs_pred[l](convs_bridge[l](x)), the whole level map
    RetinaHead:   forward_single(x), its class (``output='cls'``) or box map ('reg')
    GFLHead:      forward_single(x, scales[l]), idem

Config::

    connectors=dict(xhead0=dict(type='TeacherHeadConnector', head_type='YOLOV3Head',
                                level=0, in_channel=24, out_channel=96)),
    distill_losses=dict(loss_xsoft0=dict(type='ConfidenceSoftLabelLoss',
                                         head_type='YOLOV3Head', loss_weight=1.0)),
    loss_forward_mappings=dict(loss_xsoft0=dict(
        preds_S=dict(from_student=True, recorder='neck', data_idx=0,
                     connector='xhead0'),
        preds_T=dict(from_student=False, recorder='head0')))

The distillation algorithm (``PreprocessAwareDistill``) hands the teacher to the
connector when it is built (:meth:`TeacherHeadConnector.bind_teacher`).
"""
from typing import Dict, Optional

import torch
from mmrazor.models.architectures.connectors.base_connector import BaseConnector
from mmrazor.registry import MODELS
from torch import nn

from ..losses.detection_heads import check_head_type, head_layout_of

CROSS_HEAD_TYPES = ('YOLOV3Head', 'RetinaHead', 'GFLHead')


def head_level_forward(layout: str, head: nn.Module, x: torch.Tensor, level: int,
                       output: str) -> torch.Tensor:
    """The output of ``head``'s level-``level`` branch for the feature ``x``."""
    if layout == 'YOLOV3Head':
        return head.convs_pred[level](head.convs_bridge[level](x))
    if layout == 'GFLHead':
        cls, reg = head.forward_single(x, head.scales[level])
    else:
        cls, reg = head.forward_single(x)
    return cls if output == 'cls' else reg


LAST_CONVS = {'RetinaHead': ('retina_cls', 'retina_reg'), 'GFLHead': ('gfl_cls', 'gfl_reg')}


def head_level_channels(layout: str, head: nn.Module, level: int, output: str) -> int:
    """Channels of :func:`head_level_forward`'s output."""
    if layout == 'YOLOV3Head':
        return head.convs_pred[level].out_channels
    return getattr(head, LAST_CONVS[layout][output == 'reg']).out_channels


@MODELS.register_module()
class TeacherHeadConnector(BaseConnector):
    """Adapt a student feature to the teacher's width and run the teacher's head on it.

    Args:
        head_type (str): the teacher's head: one of ``CROSS_HEAD_TYPES``.
        level (int): the head level (index of the neck output) of this feature.
        in_channel (int): the student feature's channels.
        out_channel (int): the teacher head's input channels; equal to ``in_channel``
            means no adaptation conv.
        output (str): ``'cls'`` or ``'reg'``, which map of a two-output head (RetinaNet,
            GFL) to pass on; ignored for YOLOv3 (one map per level).
        init_cfg (dict, optional): initialisation config.
    """

    def __init__(self, head_type: str, level: int, in_channel: int, out_channel: int,
                 output: str = 'cls', init_cfg: Optional[Dict] = None):
        super().__init__(init_cfg)
        self.layout = check_head_type(head_type)
        if self.layout not in CROSS_HEAD_TYPES:
            raise ValueError(f'TeacherHeadConnector.head_type: {head_type!r} is not '
                             f'supported; supported: {", ".join(CROSS_HEAD_TYPES)}')
        if not isinstance(level, int) or isinstance(level, bool) or level < 0:
            raise ValueError(f'TeacherHeadConnector.level must be an int >= 0, got '
                             f'{level!r}')
        for name, value in (('in_channel', in_channel), ('out_channel', out_channel)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f'TeacherHeadConnector.{name} must be a positive int, '
                                 f'got {value!r}')
        if output not in ('cls', 'reg'):
            raise ValueError(f"TeacherHeadConnector.output must be 'cls' or 'reg', got "
                             f'{output!r}')
        self.head_type, self.level, self.output = head_type, level, output
        self.adapter = (nn.Conv2d(in_channel, out_channel, 1)
                        if in_channel != out_channel else nn.Identity())
        # the teacher's head, kept out of this module's parameters and state dict
        self.__dict__['_teacher_head'] = None

    def bind_teacher(self, teacher: nn.Module) -> None:
        """Use ``teacher.bbox_head`` (checked against ``head_type`` and ``level``)."""
        head = getattr(teacher, 'bbox_head', None)
        found = None if head is None else head_layout_of(head)
        if found != self.layout:
            raise ValueError(
                f'TeacherHeadConnector.head_type: {self.head_type!r}, but the teacher\'s '
                f'bbox_head is {type(head).__name__ if head is not None else None}')
        levels = (len(head.convs_pred) if self.layout == 'YOLOV3Head' else
                  len(head.prior_generator.strides))
        if self.level >= levels:
            raise ValueError(f'TeacherHeadConnector.level: {self.level}, but the '
                             f'teacher head has {levels} levels')
        self.__dict__['_teacher_head'] = head

    @property
    def declared_out_channels(self) -> Optional[int]:
        """The teacher head's output channels at this level (None until bound); the
        build-time channel check reads it."""
        head = self.__dict__['_teacher_head']
        return None if head is None else head_level_channels(self.layout, head,
                                                             self.level, self.output)

    def forward_train(self, feature: torch.Tensor) -> torch.Tensor:
        head = self.__dict__['_teacher_head']
        if head is None:
            raise RuntimeError('TeacherHeadConnector: no teacher bound; use it in a '
                               'PreprocessAwareDistill algorithm (which calls '
                               'bind_teacher) or call bind_teacher(teacher) first')
        return head_level_forward(self.layout, head, self.adapter(feature), self.level,
                                  self.output)
