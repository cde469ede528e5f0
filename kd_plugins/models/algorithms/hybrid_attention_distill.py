"""Hybrid attention transfer with channel selection (method M5 of DESIGN.md), algorithm.

:class:`HybridAttentionDistill` wires :class:`HybridAttentionLoss` at several backbone
stages of a classifier pair and, where the teacher's stage is wider than what is
matched, an :class:`ActiveChannelSelector` on the teacher side (its ``num_selected``
most active channels, by running activation statistics collected in training). It
probes both backbones once at build time (a zero batch of ``probe_shape``), so a stage
that does not exist, a stage the backbone does not output, unequal feature sizes or a
``num_selected`` larger than the teacher's width fail before training with the field
named. Further distill terms (e.g. logit KD) go in ``distiller`` as usual; the
attention terms are added to it (``loss_ha<stage>``).

Config::

    model = dict(
        type='HybridAttentionDistill',
        architecture=student,           # backbone.out_indices must include the stages
        teacher=teacher, teacher_ckpt=teacher_ckpt,
        stages=(0, 1, 2),               # student backbone stages (teacher_stages: same)
        num_selected=None,              # per stage or one int; None = student's width
        attention_loss=dict(type='HybridAttentionLoss', p=2, spatial_weight=1.0,
                            channel_weight=1.0, loss_weight=100.0),
        selector=dict(momentum=0.1),
        probe_shape=(3, 32, 32),
        distiller=dict(type='ConfigurableDistiller', ...))   # optional extra terms

``num_selected`` smaller than the student's width also puts a selector on the student
side (both keep their ``num_selected`` most active channels).

``channel_match='adapter'`` replaces the selection by a learned 1x1 conv on the student
side (student width -> teacher width, no norm or activation; connector
``ha_adapt_s<stage>``), the usual way other methods bridge widths: both terms then
compare the adapted student features with all of the teacher's channels. It is the
ablation of the research claim that selecting the teacher's active channels transfers
more than learning a projection (``M5-adapter`` in the classification benchmark).
"""
import copy
from typing import Dict, Optional, Sequence, Union

import torch
from mmengine.model import BaseModel
from mmrazor.registry import MODELS
from torch import nn

from ..utils.build import build_codebase_model
from ..utils.config_checks import DistillConfigError, check_int, is_int
from .preprocess_aware_distill import PreprocessAwareDistill, inherit_preprocessor

RECORDER = 'ha_backbone'
CHANNEL_MATCHES = ('select', 'adapter')


def _stage_tuple(value, field: str) -> tuple:
    if is_int(value):
        value = (value, )
    if not isinstance(value, (list, tuple)) or not value or any(
            not is_int(v) or v < 0 for v in value):
        raise DistillConfigError(f'{field} must be a non-empty sequence of stage indices '
                                 f'(integers >= 0), got {value!r}')
    if len(set(value)) != len(value):
        raise DistillConfigError(f'{field} repeats a stage: {value!r}')
    return tuple(value)


@torch.no_grad()
def probe_stages(model: nn.Module, stages: tuple, probe_shape: tuple,
                 side: str, field: str) -> Dict[int, tuple]:
    """``{stage: (position in the backbone's outputs, (C, H, W))}`` for ``stages``."""
    backbone = getattr(model, 'backbone', None)
    if backbone is None:
        raise DistillConfigError(f'{side} has no backbone: hybrid attention transfer '
                                 'records backbone stage outputs')
    out_indices = getattr(backbone, 'out_indices', None)
    if out_indices is None:
        raise DistillConfigError(f'{side} backbone {type(backbone).__name__} has no '
                                 'out_indices: cannot tell which stages it outputs')
    out_indices = tuple(out_indices) if isinstance(out_indices, (list, tuple)) \
        else (out_indices, )
    missing = [s for s in stages if s not in out_indices]
    if missing:
        raise DistillConfigError(
            f'{field}={stages}: stage(s) {missing} are not among the {side} backbone\'s '
            f'outputs, backbone.out_indices={out_indices} ({type(backbone).__name__}). '
            'Use existing stages and list them in backbone.out_indices (keep the last '
            'one: the head reads it).')
    was_training = backbone.training
    backbone.eval()
    try:
        outs = backbone(torch.zeros(2, *probe_shape,
                                    device=next(backbone.parameters()).device))
    finally:
        backbone.train(was_training)
    outs = outs if isinstance(outs, (list, tuple)) else (outs, )
    if len(outs) != len(out_indices):
        raise DistillConfigError(f'{side} backbone returned {len(outs)} outputs for '
                                 f'out_indices={out_indices}')
    plan = {}
    for s in stages:
        pos = out_indices.index(s)
        if outs[pos].dim() != 4:
            raise DistillConfigError(f'{side} stage {s} output has shape '
                                     f'{tuple(outs[pos].shape)}, expected (N, C, H, W)')
        plan[s] = (pos, tuple(outs[pos].shape[1:]))
    return plan


@MODELS.register_module()
class HybridAttentionDistill(PreprocessAwareDistill):
    """Spatial + channel attention transfer at several stages (M5).

    Args:
        stages (Sequence[int]): student backbone stages to distill.
        teacher_stages (Sequence[int], optional): the teacher's stage for each of
            ``stages`` (default: the same indices).
        num_selected (int | Sequence[int], optional): channels matched per stage
            (one value for all, or one per stage); default the student's width there.
        attention_loss (dict): the loss of each stage (``HybridAttentionLoss``).
        selector (dict): extra ``ActiveChannelSelector`` arguments (momentum, p).
        probe_shape (Sequence[int]): ``(C, H, W)`` of the zero batch used to read the
            stages' shapes at build time (the training input size).
        distiller (dict, optional): ``ConfigurableDistiller`` config with any further
            terms; the attention terms are added to it.
        channel_match (str): ``'select'`` (the teacher's most active channels, M5) or
            ``'adapter'`` (a learned 1x1 conv from the student's width to the
            teacher's; ``num_selected`` must then be None).
        Others: as :class:`PreprocessAwareDistill`.
    """

    def __init__(self,
                 architecture: Union[BaseModel, Dict],
                 teacher: Union[BaseModel, Dict],
                 stages: Sequence[int] = (0, 1, 2),
                 teacher_stages: Optional[Sequence[int]] = None,
                 num_selected: Union[None, int, Sequence[int]] = None,
                 attention_loss: dict = dict(type='HybridAttentionLoss'),
                 selector: Optional[dict] = None,
                 probe_shape: Sequence[int] = (3, 32, 32),
                 distiller: Optional[dict] = None,
                 channel_match: str = 'select',
                 **kwargs) -> None:
        if channel_match not in CHANNEL_MATCHES:
            raise DistillConfigError(f'channel_match must be one of {CHANNEL_MATCHES}, '
                                     f'got {channel_match!r}')
        if channel_match == 'adapter' and num_selected is not None:
            raise DistillConfigError(
                f"num_selected={num_selected!r} selects channels, but channel_match="
                "'adapter' maps the student to all of the teacher's channels: set "
                "num_selected=None")
        stages = _stage_tuple(stages, 'stages')
        teacher_stages = stages if teacher_stages is None else \
            _stage_tuple(teacher_stages, 'teacher_stages')
        if len(teacher_stages) != len(stages):
            raise DistillConfigError(f'teacher_stages={teacher_stages} must pair with '
                                     f'stages={stages} (same length)')
        if isinstance(architecture, dict):
            architecture = build_codebase_model(architecture, 'architecture')
        teacher = inherit_preprocessor(teacher, kwargs.get('data_preprocessor'))
        if isinstance(teacher, dict):
            teacher = build_codebase_model(teacher, 'teacher')
        probe_shape = tuple(probe_shape)
        s_plan = probe_stages(architecture, stages, probe_shape, 'student', 'stages')
        t_plan = probe_stages(teacher, teacher_stages, probe_shape, 'teacher',
                              'teacher_stages')
        self._check_sizes(stages, teacher_stages, s_plan, t_plan)
        if channel_match == 'adapter':
            counts = tuple(t_plan[t][1][0] for t in teacher_stages)
        else:
            counts = self._selected_counts(num_selected, stages, teacher_stages, s_plan,
                                           t_plan)
        distiller = self._attention_distiller(
            distiller, stages, teacher_stages, s_plan, t_plan, counts, attention_loss,
            selector or {}, channel_match)
        super().__init__(distiller=distiller, teacher=teacher, architecture=architecture,
                         **kwargs)
        self.stages, self.teacher_stages = stages, teacher_stages
        self.num_selected = counts
        self.channel_match = channel_match

    @staticmethod
    def _selected_counts(num_selected, stages, teacher_stages, s_plan, t_plan) -> tuple:
        if num_selected is None:
            counts = tuple(s_plan[s][1][0] for s in stages)
        elif is_int(num_selected):
            counts = (num_selected, ) * len(stages)
        elif isinstance(num_selected, (list, tuple)) and len(num_selected) == len(stages):
            counts = tuple(num_selected)
        else:
            raise DistillConfigError(f'num_selected must be None, an integer or one per '
                                     f'stage ({len(stages)}), got {num_selected!r}')
        for i, (k, s, t) in enumerate(zip(counts, stages, teacher_stages)):
            s_c, t_c = s_plan[s][1][0], t_plan[t][1][0]
            where = f'num_selected (stage {s}, entry {i})'
            check_int(k, where, 1, DistillConfigError)
            if k > t_c:
                raise DistillConfigError(
                    f'{where}={k} exceeds the teacher\'s {t_c} channels at stage {t}: '
                    'cannot select more channels than the teacher has')
            if k > s_c:
                raise DistillConfigError(
                    f'{where}={k} exceeds the student\'s {s_c} channels at stage {s}: '
                    'channel attention compares equal channel counts')
        return counts

    @staticmethod
    def _check_sizes(stages, teacher_stages, s_plan, t_plan) -> None:
        for s, t in zip(stages, teacher_stages):
            if s_plan[s][1][1:] != t_plan[t][1][1:]:
                raise DistillConfigError(
                    f'stages: student stage {s} is {s_plan[s][1][1:]} but teacher stage '
                    f'{t} is {t_plan[t][1][1:]} (H, W); spatial attention needs equal '
                    'sizes: pair stages of equal resolution (teacher_stages)')

    @staticmethod
    def _attention_distiller(distiller, stages, teacher_stages, s_plan, t_plan, counts,
                             attention_loss, selector, channel_match) -> dict:
        cfg = copy.deepcopy(dict(distiller or dict(type='ConfigurableDistiller')))
        for key in ('student_recorders', 'teacher_recorders', 'distill_losses',
                    'connectors', 'loss_forward_mappings'):
            cfg[key] = dict(cfg.get(key) or {})
        for side in ('student_recorders', 'teacher_recorders'):
            if RECORDER in cfg[side]:
                raise DistillConfigError(f'distiller.{side}.{RECORDER} is reserved for '
                                         'the hybrid attention terms')
            cfg[side][RECORDER] = dict(type='ModuleOutputs', source='backbone')
        for s, t, k in zip(stages, teacher_stages, counts):
            name = f'loss_ha{s}'
            if name in cfg['distill_losses']:
                raise DistillConfigError(f'distiller.distill_losses.{name} is reserved '
                                         f'for the hybrid attention term of stage {s}')
            cfg['distill_losses'][name] = copy.deepcopy(dict(attention_loss))
            preds_S = dict(from_student=True, recorder=RECORDER, data_idx=s_plan[s][0])
            preds_T = dict(from_student=False, recorder=RECORDER, data_idx=t_plan[t][0])
            if channel_match == 'adapter':
                if s_plan[s][1][0] != k:
                    conn = f'ha_adapt_s{s}'
                    cfg['connectors'][conn] = dict(
                        type='ConvModuleConnector', in_channel=s_plan[s][1][0],
                        out_channel=k, kernel_size=1, norm_cfg=None, act_cfg=None)
                    preds_S['connector'] = conn
            else:
                for side, preds, chans in (('s', preds_S, s_plan[s][1][0]),
                                           ('t', preds_T, t_plan[t][1][0])):
                    if k < chans:
                        conn = f'ha_select_{side}{s}'
                        cfg['connectors'][conn] = dict(
                            selector, type='ActiveChannelSelector', in_channel=chans,
                            num_selected=k)
                        preds['connector'] = conn
            cfg['loss_forward_mappings'][name] = dict(preds_S=preds_S, preds_T=preds_T)
        return cfg
