"""kd_plugins' own methods (DESIGN.md M1, M2, M4, M5, M6, M8) for the config writer.

Each ``wire_<method>(pair)`` takes the probed pair (:class:`PairInfo`) and returns a
:class:`Wiring`: the algorithm's fields, the weighted terms (start weights, measured
afterwards by :mod:`.balance`) and the lines of the header that say what was paired.
The losses, connectors and algorithms are the ones the hand-written configs use, with
their settings:

- ``M1`` attention-guided imitation (``AttentionGuidedImitationLoss``, temperature 0.5,
  attention weight 0.1, standardised features) on the neck levels, the head outputs
  (soft labels ``ConfidenceSoftLabelLoss`` and confident boxes
  ``ConfidentRegressionLoss``), and the same two on the teacher's head run on the
  student's neck (``TeacherHeadConnector``, where the head family has one);
- ``M2`` confidence-guided distillation (``ConfidenceGuidedDistill``, no ground-truth
  box read): confidence-masked neck features, soft labels at temperature 2, confident
  boxes, the cross-head terms;
- ``M4`` information-map distillation (``InfoMapDistillLoss``) on the neck levels and
  on the backbone's outputs (the levels the neck reads);
- ``M5`` hybrid attention transfer (``HybridAttentionLoss``, sorted channel pairing)
  on the backbone stages, the wider side's most active channels selected by an
  ``ActiveChannelSelector``, plus standardised logit KD (tau 2) when the classes agree;
- ``M6`` boundary-aware multi-teacher distillation (``BoundaryAwareMultiTeacherDistill``)
  from one or several segmentors, pixel term and feature term (the feature each decode
  head classifies);
- ``M8`` mutual metric learning (``MutualMetricDistill``): relational guide and
  feedback on the embeddings, the teacher fine-tuned at 0.1x the learning rate.

Detection heads are read through an adapter per head family (:data:`HEAD_OUTPUTS`); a
detector whose head has none fails naming the families that have one.
"""
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence

from torch import nn

from ..models.connectors.teacher_head import CROSS_HEAD_TYPES
from ..models.losses.detection_heads import detector_head_layouts
from .balance import Term
from .pairing import Pair, distiller_wiring, pair_levels
from .probe import AutowireError, Level, decode_feature

# head family -> {output kind: module}; 'map': one map per level holds boxes and
# classes (YOLOv3). A ModuleList is recorded per level, a shared conv per call.
HEAD_OUTPUTS = {
    'YOLOV3Head': {'head': 'bbox_head.convs_pred'},
    'RetinaHead': {'cls': 'bbox_head.retina_cls', 'box': 'bbox_head.retina_reg'},
    'RTMDetHead': {'cls': 'bbox_head.rtm_cls', 'box': 'bbox_head.rtm_reg'},
}


@dataclass
class PairInfo:
    """What the writer knows about a probed pair (one or several teachers)."""
    task: str
    size: tuple
    student: List[Level]
    teachers: List[List[Level]]
    student_model: nn.Module
    teacher_models: List[nn.Module]
    teacher_refs: List[str]
    teacher_ckpts: List[str]

    @property
    def teacher(self) -> List[Level]:
        return self.teachers[0]


@dataclass
class Wiring:
    """What one method writes: ``algorithm`` (the fields of ``model=dict(...)`` after
    the architecture and the teacher), its ``terms``, ``lines`` for the header, whether
    the model takes the usual ``teacher`` / ``teacher_ckpt`` (``single_teacher``), more
    top-level entries (``top``), where its settings come from (``source``) and whether
    the terms' weights are measured (``measured``; MMRazor's baselines keep their
    published weights)."""
    algorithm: dict
    terms: Dict[str, Term]
    lines: List[str]
    source: str
    single_teacher: bool = True
    top: dict = field(default_factory=dict)
    measured: bool = True


def pair_lines(pairs: Sequence[Pair], connectors: Dict[int, str]) -> List[str]:
    """``i: student level <- teacher level (connector)`` per pair."""
    return [f'{i}: {p.student.describe()} <- {p.teacher.describe()} '
            f'({connectors.get(i, "no connector")})' for i, p in enumerate(pairs)]


def _conv_text(p: Pair) -> Optional[str]:
    c = p.connector
    return None if c is None else f'{c["type"]} {p.student.channels} -> ' \
        f'{p.teacher.channels}'


def _conv_notes(pairs: Sequence[Pair]) -> Dict[int, str]:
    """``{pair index: 'ConvModuleConnector 24 -> 96'}`` where a pair gets a 1x1 conv."""
    return {i: c for i, p in enumerate(pairs) if (c := _conv_text(p))}


def _merge(*wirings: dict) -> dict:
    out = dict(student_recorders={}, teacher_recorders={}, connectors={},
               loss_forward_mappings={})
    for w in wirings:
        for k in out:
            out[k].update(w[k])
    return out


def distiller_config(wiring: dict, losses: dict) -> dict:
    return dict(type='ConfigurableDistiller',
                student_recorders=wiring['student_recorders'],
                teacher_recorders=wiring['teacher_recorders'],
                connectors=wiring['connectors'], distill_losses=losses,
                loss_forward_mappings=wiring['loss_forward_mappings'])


def _distilling(algorithm: str, wiring: dict, losses: dict,
                groups: Dict[str, Sequence[str]], lines: List[str], source: str,
                **fields) -> Wiring:
    """A :class:`Wiring` whose terms are the ConfigurableDistiller's ``losses`` (one
    weight per group), for the algorithm type ``algorithm`` with more ``fields``."""
    return Wiring(dict(type=algorithm, **fields,
                       distiller=distiller_config(wiring, losses)),
                  loss_terms(losses, groups), lines, source)


def loss_terms(losses: dict, groups: Dict[str, Sequence[str]], side='student',
                field_name='loss_weight') -> Dict[str, Term]:
    """One :class:`Term` per group of ConfigurableDistiller losses."""
    return {g: Term([f'model.distiller.distill_losses.{k}.{field_name}' for k in keys],
                    r'distill\.(' + '|'.join(keys) + ')',
                    losses[keys[0]][field_name], side)
            for g, keys in groups.items() if keys}


# ----------------------------------------------------------------------- detection
class HeadReader:
    """Where a detector's head outputs are recorded (per level ``i``)."""

    def __init__(self, model: nn.Module, layout: str, side: str):
        self.layout = layout
        self.recorders, self.refs = {}, {}
        for kind, src in HEAD_OUTPUTS[layout].items():
            module = model.get_submodule(src)
            per_level = isinstance(module, nn.ModuleList)
            if per_level:
                for i in range(len(module)):
                    self.recorders[f'{kind}{i}'] = dict(type='ModuleOutputs',
                                                        source=f'{src}.{i}')
            else:
                self.recorders[kind] = dict(type='ModuleOutputs', source=src)
            self.refs[kind] = per_level

    def read(self, kind: str, i: int, from_student: bool) -> dict:
        if kind not in self.refs:  # one map holds both (YOLOv3)
            kind = 'head'
        if self.refs[kind]:
            return dict(from_student=from_student, recorder=f'{kind}{i}')
        return dict(from_student=from_student, recorder=kind, record_idx=i)

    @property
    def one_map(self) -> bool:
        return 'head' in self.refs


def head_layout(info: PairInfo) -> str:
    """The one head family both detectors share and an adapter reads."""
    found = []
    for name, model in [('student', info.student_model)] + [
            ('teacher', m) for m in info.teacher_models]:
        layouts = [lay for lay in detector_head_layouts(model) if lay in HEAD_OUTPUTS]
        if not layouts:
            have = [type(m).__name__ for n, m in model.named_children()
                    if n.endswith('head')] or ['none']
            raise AutowireError(
                f'{name}: its head ({", ".join(have)}) has no adapter for head-output '
                f'distillation; heads with one: {sorted(HEAD_OUTPUTS)} (feature methods '
                'such as M4, cwd, pkd or mgd need no head adapter)')
        found.append((name, layouts[0]))
    if len({lay for _, lay in found}) > 1:
        raise AutowireError('student / teacher: their heads differ ('
                            + ', '.join(f'{n} {lay}' for n, lay in found) + '); '
                            'head-output distillation reads one layout on both sides')
    return found[0][1]


def _neck_pairs(info: PairInfo) -> List[Pair]:
    pairs = pair_levels(info.student, info.teacher, 'neck')
    s_neck = [lv for lv in info.student if lv.part == 'neck']
    if len(pairs) != len(s_neck):
        raise AutowireError(
            f'neck: {len(pairs)} of the student\'s {len(s_neck)} neck levels have a '
            'teacher level of the same size; head-output distillation pairs every '
            'level (the heads must predict at the same strides)')
    return pairs


def _confidence_terms(info: PairInfo, method: str, neck_loss: Callable[[int], dict],
                      soft_name: str, temperature: float) -> Wiring:
    """The head-output terms M1 and M2 share, with ``neck_loss(i)`` on the neck."""
    layout = head_layout(info)
    pairs = _neck_pairs(info)
    s_head = HeadReader(info.student_model, layout, 'student')
    t_head = HeadReader(info.teacher_models[0], layout, 'teacher')
    wiring = distiller_wiring(pairs, 'neck')
    wiring['student_recorders'].update(s_head.recorders)
    wiring['teacher_recorders'].update(t_head.recorders)
    losses, maps = {}, wiring['loss_forward_mappings']
    cross = layout in CROSS_HEAD_TYPES
    for i, pair in enumerate(pairs):
        losses[f'loss_neck{i}'] = neck_loss(i)
        if method == 'M2':
            maps[f'loss_neck{i}']['conf_T'] = t_head.read('cls', i, False)
        for x in ('', 'x') if cross else ('', ):
            if x:
                outs = ('head', ) if s_head.one_map else ('cls', 'reg')
                for out in outs:
                    conn = dict(type='TeacherHeadConnector', head_type=layout, level=i,
                                in_channel=pair.student.channels,
                                out_channel=pair.teacher.channels)
                    if out != 'head':
                        conn['output'] = out
                    wiring['connectors'][f'x{out}{i}'] = conn

                def src(kind, i=i, outs=outs):
                    return dict(from_student=True, recorder='neck', data_idx=i,
                                connector=f'x{kind if len(outs) > 1 else "head"}{i}')
            else:
                def src(kind, i=i):
                    return s_head.read(kind, i, True)
            losses[f'loss_{x}{soft_name}{i}'] = dict(
                type='ConfidenceSoftLabelLoss', head_type=layout, temperature=temperature,
                loss_weight=1.0)
            maps[f'loss_{x}{soft_name}{i}'] = dict(preds_S=src('cls'),
                                                   preds_T=t_head.read('cls', i, False))
            losses[f'loss_{x}reg{i}'] = dict(type='ConfidentRegressionLoss',
                                             head_type=layout, conf_thr=0.3,
                                             loss_weight=1.0)
            maps[f'loss_{x}reg{i}'] = dict(preds_S=src('reg' if x else 'box'),
                                           preds_T=t_head.read('box', i, False))
            if not t_head.one_map:
                maps[f'loss_{x}reg{i}']['conf_T'] = t_head.read('cls', i, False)
    n = len(pairs)
    groups = {g: [f'loss_{g}{i}' for i in range(n)]
              for g in ('neck', soft_name, 'reg') + ((f'x{soft_name}', 'xreg')
                                                     if cross else ())}
    lines = pair_lines(pairs, _conv_notes(pairs))
    lines.append(f'head outputs: {layout} on {n} levels '
                 + ('(box and class maps on both heads, and the teacher\'s head run on '
                    'the student\'s neck: TeacherHeadConnector)' if cross else
                    f'(no cross-head terms: TeacherHeadConnector reads '
                    f'{", ".join(CROSS_HEAD_TYPES)})'))
    return wiring, losses, groups, lines


def wire_m1(info: PairInfo) -> Wiring:
    wiring, losses, groups, lines = _confidence_terms(
        info, 'M1', lambda i: dict(type='AttentionGuidedImitationLoss', temperature=0.5,
                                   loss_weight=1e-3, attention_weight=0.1,
                                   normalize=True), 'cls', 1.0)
    return _distilling('PreprocessAwareDistill', wiring, losses, groups, lines,
                       'M1\'s settings as configs/attention_imitation (temperature '
                       '0.5, attention weight 0.1, confidence threshold 0.3)')


def wire_m2(info: PairInfo) -> Wiring:
    wiring, losses, groups, lines = _confidence_terms(
        info, 'M2', lambda i: dict(type='ConfidenceMaskedFeatureLoss',
                                   head_type=head_layout(info), conf_thr=0.3,
                                   bg_weight=0.1, loss_weight=1.0, normalize=True),
        'soft', 2.0)
    return _distilling('ConfidenceGuidedDistill', wiring, losses, groups, lines,
                       'M2\'s settings as configs/confidence_guided (soft-label '
                       'temperature 2, confidence threshold 0.3, background weight 0.1, '
                       'no ground-truth box read)', use_gt=False)


def wire_m4(info: PairInfo) -> Wiring:
    neck = pair_levels(info.student, info.teacher, 'neck')
    backbone = pair_levels(info.student, info.teacher, 'outputs')
    wiring = _merge(distiller_wiring(neck, 'neck'), distiller_wiring(backbone, 'backbone'))
    losses = {f'loss_{part}{i}': dict(type='InfoMapDistillLoss', temperature=1.0,
                                      loss_weight=1.0, normalize=True)
              for part, pairs in (('neck', neck), ('backbone', backbone))
              for i in range(len(pairs))}
    groups = {part: [f'loss_{part}{i}' for i in range(len(pairs))]
              for part, pairs in (('neck', neck), ('backbone', backbone))}
    lines = ['neck:'] + pair_lines(neck, _conv_notes(neck))
    lines += ['backbone outputs (what the neck reads):'] + pair_lines(
        backbone, _conv_notes(backbone))
    return _distilling('PreprocessAwareDistill', wiring, losses, groups, lines,
                       'M4\'s settings as configs/info_map (temperature 1, '
                       'standardised features)')


def wire_m5(info: PairInfo) -> Wiring:
    pairs = pair_levels(info.student, info.teacher, 'backbone')
    wiring = distiller_wiring(pairs, 'ha', lambda p: None)
    maps = {}
    losses, notes = {}, {}
    for i, pair in enumerate(pairs):
        k = min(pair.student.channels, pair.teacher.channels)
        mapping = wiring['loss_forward_mappings'][f'loss_ha{i}']
        for side, level, key in (('s', pair.student, 'preds_S'),
                                 ('t', pair.teacher, 'preds_T')):
            if level.channels > k:
                name = f'ha_select_{side}{i}'
                wiring['connectors'][name] = dict(type='ActiveChannelSelector',
                                                  in_channel=level.channels,
                                                  num_selected=k, momentum=0.1)
                mapping[key]['connector'] = name
                notes[i] = f'ActiveChannelSelector: the {k} most active of ' \
                    f'{level.channels} {"student" if side == "s" else "teacher"} channels'
        losses[f'loss_ha{i}'] = dict(type='HybridAttentionLoss', p=2, spatial_weight=1.0,
                                     channel_weight=1.0, channel_pairing='sorted',
                                     loss_weight=1.0)
        maps[f'loss_ha{i}'] = mapping
    groups = {'ha': list(losses)}
    lines = pair_lines(pairs, notes)
    s_log = [lv for lv in info.student if lv.part == 'logits']
    t_log = [lv for lv in info.teacher if lv.part == 'logits']
    if s_log and t_log and s_log[0].channels == t_log[0].channels:
        for side in ('student_recorders', 'teacher_recorders'):
            wiring[side]['logits'] = dict(type='ModuleOutputs', source='head.fc')
        losses['loss_kd'] = dict(type='StandardizedKLDivergence', tau=2.0,
                                 loss_weight=1.0)
        maps['loss_kd'] = dict(preds_S=dict(from_student=True, recorder='logits'),
                               preds_T=dict(from_student=False, recorder='logits'))
        groups['kd'] = ['loss_kd']
        lines.append(f'logits: head.fc {s_log[0].channels} <- head.fc '
                     f'{t_log[0].channels} (standardised KD, tau 2)')
    else:
        lines.append('logits: not distilled (the class counts differ)')
    wiring['loss_forward_mappings'] = maps
    return _distilling('PreprocessAwareDistill', wiring, losses, groups, lines,
                       'M5\'s settings as configs/hybrid_attention (p 2, spatial and '
                       'channel weights 1, sorted channel pairing, selector momentum '
                       '0.1)')


def wire_m6(info: PairInfo) -> Wiring:
    s_feat, s_c = decode_feature(info.student_model, info.size, 'student')
    teachers, lines = {}, []
    for i, (model, ref, ckpt) in enumerate(zip(info.teacher_models, info.teacher_refs,
                                               info.teacher_ckpts)):
        feat, c = decode_feature(model, info.size, f'teacher {i}')
        teachers[f't{i}'] = dict(model=dict(cfg_path=ref), ckpt_path=ckpt, feature=feat)
        lines.append(f't{i}: {ref}: pixel logits, feature {feat} ({c} channels; the '
                     f'student\'s {s_feat} ({s_c}) adapted by a 1x1 conv)')
    algorithm = dict(
        type='BoundaryAwareMultiTeacherDistill', teachers=teachers,
        distill_loss=dict(type='BoundaryAwareMultiTeacherKDLoss', tau=1.0, band_width=3,
                          boundary_weight=2.0, quality='auto', weight_temperature=0.1,
                          loss_weight=1.0),
        student_feature=s_feat, feature_loss_weight=1.0,
        probe_shape=tuple(info.size))
    terms = dict(pixel=Term(['model.distill_loss.loss_weight'], r'distill\.loss_pixel',
                            1.0),
                 feature=Term(['model.feature_loss_weight'], r'distill\.loss_feature',
                              1.0))
    return Wiring(algorithm, terms, lines,
                  'M6\'s settings as configs/multi_teacher (tau 1, boundary band 3 px '
                  'at weight 2, teachers weighted per image by their quality)',
                  single_teacher=False)


def wire_m8(info: PairInfo) -> Wiring:
    pairs = pair_levels(info.student, info.teacher, 'embedding')
    pair = pairs[0]
    relational = dict(type='MutualRelationalLoss', distance_weight=1.0, angle_weight=2.0,
                      loss_weight=1.0)
    algorithm = dict(type='MutualMetricDistill', student_embedding=pair.student.source,
                     teacher_embedding=pair.teacher.source, guide_loss=dict(relational),
                     feedback_loss=dict(relational), feedback_gate='student_better',
                     feedback_warmup_iters=100)
    terms = dict(guide=Term(['model.guide_loss.loss_weight'], r'distill\.loss_guide',
                            1.0),
                 feedback=Term(['model.feedback_loss.loss_weight'],
                               r'distill\.loss_feedback', 1.0, side='teacher'))
    lines = [f'embedding: {pair.student.describe()} <- {pair.teacher.describe()} '
             '(distances and angles: no connector)',
             'the teacher is fine-tuned by the feedback term at 0.1x the learning rate']
    top = dict(optim_wrapper=dict(paramwise_cfg=dict(
        custom_keys={'teacher.': dict(lr_mult=0.1)})))
    return Wiring(algorithm, terms, lines,
                  'M8\'s settings as configs/mutual_metric (distance 1, angle 2, '
                  'feedback where the student ranks better, 100 warm-up iterations)',
                  top=top)


# method -> (tasks, wire, title)
PROJECT_METHODS = {
    'M1': (('detection', ), wire_m1, 'attention-guided feature imitation (kd_plugins M1)'),
    'M2': (('detection', ), wire_m2, 'confidence-guided distillation (kd_plugins M2)'),
    'M4': (('detection', ), wire_m4, 'information-map distillation (kd_plugins M4)'),
    'M5': (('classification', ), wire_m5,
           'hybrid attention transfer with channel selection (kd_plugins M5)'),
    'M6': (('segmentation', ), wire_m6,
           'boundary-aware multi-teacher distillation (kd_plugins M6)'),
    'M8': (('retrieval', ), wire_m8,
           'mutual metric-learning distillation (kd_plugins M8)'),
}
# methods the writer does not write, and why
NOT_WRITTEN = {
    'M3': 'M3 trains on labeled and unlabeled images (its own dataset wrappers): start '
          'from configs/semi_adaptive',
    'M7': 'M7 is data-free (generators instead of a dataset): start from '
          'configs/dual_generator',
}

__all__ = ['HEAD_OUTPUTS', 'NOT_WRITTEN', 'PROJECT_METHODS', 'PairInfo', 'Wiring',
           'distiller_config', 'head_layout', 'loss_terms']
