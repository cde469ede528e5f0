"""Write a readable distillation config for a teacher / student pair (issue 22).

``write_config`` probes both models (:mod:`.probe`), pairs the levels the method reads
(:mod:`.pairing`), adds the connectors, and returns the text of one config with a header
that says what it chose and why. The student config is the ``_base_`` (its data,
schedule and runtime stay the user's); the teacher is built from its config file
(``teacher=dict(cfg_path=...)``: a local file or ``package::path``) and loads
``teacher_ckpt``, which must fit the teacher: every parameter of the built teacher is in
the checkpoint with its shape, or the writer fails naming the first mismatches.

kd_plugins' own methods (M1 M2 M4 M5 M6 M8) are wired by :mod:`.project_methods`; their
loss weights are set by the project's rule, measured on two batches of the student's
training data (:mod:`.balance`; ``measure=False`` keeps the start weights and says so).
M3 (labeled + unlabeled data) and M7 (data-free) are not written: the error says where
to start instead.

MMRazor's baselines keep their published weights (protocol v2 rule 3 starts a baseline
there); ``sweep_weights`` lists every written config's weights for a sweep. They are:

- ``cwd``: channel-wise divergence (Shu et al., ICCV 2021) on the neck levels of a
  detector, 1x1 conv where the channels differ; ``ChannelWiseDivergence(tau=1,
  loss_weight=10)`` per level (mmrazor::distill/mmdet/cwd/cwd_fpn_frcnn_r101_frcnn_r50_1x
  _coco.py).
- ``pkd``: Pearson-correlation feature KD (Cao et al., NeurIPS 2022) on the neck levels;
  ``PKDLoss(resize_stu=True, loss_weight=10)`` (mmrazor::distill/mmdet/pkd/pkd_fpn_retina
  _x101_retina_r50_2x_coco.py). Channels may differ (the loss normalises each map).
- ``mgd``: masked generative distillation (Yang et al., ECCV 2022) on the neck levels:
  ``MGDConnector(lambda_mgd=0.65)`` on the student side, ``MGDLoss(alpha_mgd=2e-5)``
  (mmrazor::distill/mmdet/mgd/mgd_fpn_retina_x101_retina_r50_2x_coco.py).
- ``rkd``: relational KD (Park et al., CVPR 2019) on the embeddings (``head.fc``) of
  two embedders, no connector (distances and angles are dimension-free);
  ``DistanceWiseRKD(loss_weight=1)`` + ``AngleWiseRKD(loss_weight=2)`` (the paper's
  metric-learning setting, lenscloth/RKD).
- ``dkd``: decoupled KD (Zhao et al., CVPR 2022) on the logits (``head.fc``) of two
  classifiers with the same classes, the student's labels read from its head's loss
  module; ``DKDLoss(tau=1, alpha=1, beta=0.5, reduction='batchmean')`` (mmrazor::distill
  /mmcls/dkd/dkd_resnet34_resnet18_8xb32_in1k.py).
- ``at``: attention transfer (Zagoruyko & Komodakis, ICLR 2017) on the backbone stages
  of a classifier or embedder, no connector (the maps are channel-free);
  ``ATLoss(loss_weight=1000)`` (the paper's code, szagoruyko/attention-transfer).

Example::

    text = write_config('cwd', 'S.py', 'mmdet::retinanet/retinanet_r101_fpn_1x_coco.py',
                        'T.pth', out='my_cwd.py')
    text = write_config('M6', 'S.py', ['T1.py', 'T2.py'], ['T1.pth', 'T2.pth'],
                        out='my_m6.py', options={'train_dataloader.dataset.data_root':
                                                 'data/mine/'})
"""
import datetime
import os
import os.path as osp
import tempfile
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

from torch import nn

from .balance import TARGET, balanced_weights, build_loader, loss_pulls
from .pairing import Pair, distiller_wiring, pair_levels
from .probe import (AutowireError, build_model, input_size_of, load_config, probe,
                    scope_of, task_of)
from .project_methods import (NOT_WRITTEN, PROJECT_METHODS, PairInfo, Wiring,
                              distiller_config, loss_terms, pair_lines)


@dataclass(frozen=True)
class Method:
    """A method the writer wires: the tasks it serves, the part it pairs, its loss per
    pair, the weight field and where its default comes from."""
    name: str
    title: str
    tasks: Tuple[str, ...]
    part: str
    loss: Optional[Callable[[Pair], dict]]
    weight_field: str = 'loss_weight'
    connector: Optional[Callable[[Pair], Optional[dict]]] = None  # None: Pair.connector
    source: str = ''
    # several terms on each pair: name -> loss (``loss`` is then unused)
    terms: Optional[Callable[[Pair], Dict[str, dict]]] = None
    # more student recorders, and what each loss mapping reads from them
    student_recorders: Optional[dict] = None
    mapping_extra: Optional[dict] = None
    # the loss's argument names for the student's and the teacher's feature
    inputs: Tuple[str, str] = ('preds_S', 'preds_T')


def _mgd_connector(pair: Pair) -> dict:
    return dict(type='MGDConnector', student_channels=pair.student.channels,
                teacher_channels=pair.teacher.channels, lambda_mgd=0.65)


METHODS = {m.name: m for m in (
    Method('cwd', "MMRazor's channel-wise divergence (Shu et al., ICCV 2021)",
           ('detection', ), 'neck',
           lambda p: dict(type='ChannelWiseDivergence', tau=1, loss_weight=10),
           source='loss_weight 10, tau 1: MMRazor\'s published default '
           '(mmrazor::distill/mmdet/cwd/cwd_fpn_frcnn_r101_frcnn_r50_1x_coco.py)'),
    Method('pkd', "MMRazor's Pearson-correlation KD (Cao et al., NeurIPS 2022)",
           ('detection', ), 'neck',
           lambda p: dict(type='PKDLoss', resize_stu=True, loss_weight=10),
           connector=lambda p: None,
           source='loss_weight 10: MMRazor\'s published default for one-stage students '
           '(mmrazor::distill/mmdet/pkd/pkd_fpn_retina_x101_retina_r50_2x_coco.py)'),
    Method('mgd', "MMRazor's masked generative distillation (Yang et al., ECCV 2022)",
           ('detection', ), 'neck', lambda p: dict(type='MGDLoss', alpha_mgd=2e-5),
           weight_field='alpha_mgd', connector=_mgd_connector,
           source='alpha_mgd 2e-5, lambda_mgd 0.65: MMRazor\'s published default '
           '(mmrazor::distill/mmdet/mgd/mgd_fpn_retina_x101_retina_r50_2x_coco.py)'),
    Method('rkd', "MMRazor's relational KD (Park et al., CVPR 2019)", ('retrieval', ),
           'embedding', None, connector=lambda p: None,
           terms=lambda p: dict(rkd_d=dict(type='DistanceWiseRKD', loss_weight=1.0),
                                rkd_a=dict(type='AngleWiseRKD', loss_weight=2.0)),
           source='distance 1, angle 2: the RKD paper\'s metric-learning setting '
           '(lenscloth/RKD examples/cub200.sh --dist_ratio 1 --angle_ratio 2)'),
    Method('dkd', "MMRazor's decoupled KD (Zhao et al., CVPR 2022)",
           ('classification', ), 'logits', None, connector=lambda p: None,
           terms=lambda p: dict(dkd=dict(type='DKDLoss', tau=1, alpha=1.0, beta=0.5,
                                         reduction='batchmean', loss_weight=1.0)),
           student_recorders=dict(gt_labels=dict(type='ModuleInputs',
                                                 source='head.loss_module')),
           mapping_extra=dict(gt_labels=dict(from_student=True, recorder='gt_labels',
                                             data_idx=1)),
           source='tau 1, alpha 1, beta 0.5, loss_weight 1: MMRazor\'s published '
           'default (mmrazor::distill/mmcls/dkd/dkd_resnet34_resnet18_8xb32_in1k.py; '
           'reduction batchmean, the authors\' per-sample mean; on CIFAR the authors '
           'use tau 4, beta 8)'),
    Method('at', 'attention transfer (Zagoruyko & Komodakis, ICLR 2017)',
           ('classification', 'retrieval'), 'backbone',
           lambda p: dict(type='ATLoss', loss_weight=1000.0), connector=lambda p: None,
           inputs=('s_feature', 't_feature'),
           source='loss_weight 1000: the paper\'s code (szagoruyko/attention-transfer, '
           'beta 1e3)'),
)}


def method_tasks(name: str) -> Tuple[str, ...]:
    """The tasks a method serves (``check_method`` first)."""
    return METHODS[name].tasks if name in METHODS else PROJECT_METHODS[name][0]


def all_methods() -> List[str]:
    return sorted(PROJECT_METHODS) + sorted(METHODS)


def check_method(name) -> str:
    """``name`` if the writer writes it; else an error naming what it writes."""
    if name in NOT_WRITTEN:
        raise AutowireError(f'method: the writer does not write {name}: '
                            f'{NOT_WRITTEN[name]}')
    if name not in METHODS and name not in PROJECT_METHODS:
        raise AutowireError(f'method: {name!r} is not one this writer knows; choose from '
                            f'{all_methods()}')
    return name


def check_teacher_checkpoint(teacher: nn.Module, ckpt: str) -> None:
    """Every parameter of the built ``teacher`` is in ``ckpt`` with its shape."""
    from ..compat import load_local_checkpoint
    if not isinstance(ckpt, str) or not osp.isfile(ckpt):
        raise AutowireError(f'teacher-ckpt: checkpoint file {ckpt!r} not found (a local '
                            'file: nothing downloads)')
    state = load_local_checkpoint(ckpt, map_location='cpu')
    state = state.get('state_dict', state)
    want = teacher.state_dict()
    missing = [k for k in want if k not in state]
    wrong = [f'{k} {tuple(state[k].shape)} (the teacher has {tuple(v.shape)})'
             for k, v in want.items()
             if k in state and tuple(state[k].shape) != tuple(v.shape)]
    if missing or wrong:
        raise AutowireError(
            f'teacher-ckpt: {ckpt} does not fit the teacher config: '
            + (f'{len(missing)} parameter(s) missing, e.g. {missing[:3]}' if missing
               else '') + ('; ' if missing and wrong else '')
            + (f'{len(wrong)} of another shape, e.g. {wrong[:2]}' if wrong else ''))


def _base_ref(spec: str, out: Optional[str]) -> str:
    """``package::path`` as given; a local file relative to ``out``'s folder (how
    mmengine reads ``_base_``), absolute without ``out``."""
    if '::' in spec:
        return spec
    if out is None:
        return osp.abspath(spec)
    return osp.relpath(osp.abspath(spec), osp.dirname(osp.abspath(out)))


def baseline_wiring(method: Method, info: PairInfo) -> Wiring:
    """One of MMRazor's baselines (``METHODS``): published weights, not measured."""
    pairs = pair_levels(info.student, info.teacher, method.part)
    connector = method.connector or (lambda p: p.connector)
    wiring = distiller_wiring(pairs, method.part, connector)
    # one term per pair named loss_<part><i>, or the method's named terms on each pair
    # (loss_<term>, with <i> when there are several pairs)
    term_fn = method.terms or (lambda p: {method.part: method.loss(p)})
    numbered = method.terms is None or len(pairs) > 1
    losses, mappings = {}, {}
    for i, pair in enumerate(pairs):
        for term, loss in term_fn(pair).items():
            key = f'loss_{term}' + (str(i) if numbered else '')
            losses[key] = loss
            pair_map = wiring['loss_forward_mappings'][f'loss_{method.part}{i}']
            mappings[key] = {method.inputs[0]: pair_map['preds_S'],
                             method.inputs[1]: pair_map['preds_T'],
                             **(method.mapping_extra or {})}
    wiring['student_recorders'].update(method.student_recorders or {})
    wiring['loss_forward_mappings'] = mappings
    distiller = distiller_config(wiring, losses)
    terms = loss_terms(losses, {k: [k] for k in losses}, field_name=method.weight_field)
    conns = {}
    for i, pair in enumerate(pairs):
        conn = connector(pair)
        if conn is not None:
            conns[i] = f'{conn["type"]} {pair.student.channels} -> {pair.teacher.channels}'
    return Wiring(dict(type='PreprocessAwareDistill', distiller=distiller), terms,
                  [f'{method.part} levels of equal spatial size (student <- teacher):']
                  + pair_lines(pairs, conns), method.source, measured=False)


def literal(value, indent: int = 0, width: int = 88, col: Optional[int] = None) -> str:
    """``value`` as config source: ``dict(key=...)`` where every key is a name (as
    hand-written OpenMMLab configs read), ``{...}`` otherwise. It starts at column
    ``col`` (default ``indent``) of a line indented ``indent``: on that line when it fits
    in ``width``; else its items filled onto lines under the first one (yapf's layout)
    when each fits; else one item per line, indented 4 more."""
    col = indent if col is None else col
    if isinstance(value, dict):
        named = all(isinstance(k, str) and k.isidentifier() for k in value)
        keys = [f'{k}=' if named else f'{k!r}: ' for k in value]
        vals = list(value.values())
        start, end = ('dict(', ')') if named else ('{', '}')
    elif isinstance(value, (list, tuple)):
        keys, vals = [''] * len(value), list(value)
        start, end = ('[', ']') if isinstance(value, list) else \
            ('(', ',)' if len(value) == 1 else ')')
    else:
        return repr(value)
    # each item as it would stand on a line of its own, 4 columns in
    items = [k + literal(v, indent + 4, width, indent + 4 + len(k))
             for k, v in zip(keys, vals)]
    flat = start + ', '.join(items) + end
    if col + len(flat) <= width and '\n' not in flat:
        return flat
    first = col + len(start)
    if items and all('\n' not in item for item in items) and \
            first + max(map(len, items)) + len(end) <= width:
        lines, line = [], ''
        for i, item in enumerate(items):
            piece = item + (end if i == len(items) - 1 else ',')
            if line and first + len(line) + 1 + len(piece) > width:
                lines.append(line)
                line = piece
            else:
                line += (' ' if line else '') + piece
        lines.append(line)
        return start + ('\n' + ' ' * first).join(lines)
    pad = ' ' * (indent + 4)
    return start + '\n' + ''.join(f'{pad}{item},\n' for item in items) + \
        ' ' * indent + end.lstrip(',')


def _set(tree: dict, dotted: str, value) -> None:
    """Set ``model.a.b`` (a key of ``tree`` = the model's fields) to ``value``."""
    parts = dotted.split('.')[1:]
    node = tree
    for part in parts[:-1]:
        node = node[part]
    node[parts[-1]] = value


def _text(name, title, info: PairInfo, wiring: Wiring, student: str, out, preprocessor,
          weight_lines: Sequence[str]) -> str:
    size = info.size
    lines = [
        f'Distillation config written by tools/make_distill_config.py (kd_plugins) on '
        f'{datetime.date.today().isoformat()}.',
        f'  method:  {name}: {title}',
        f'  task:    {info.task}; student {student}']
    lines += [f'  teacher: {ref}, checkpoint {ckpt}'
              for ref, ckpt in zip(info.teacher_refs, info.teacher_ckpts)]
    lines.append(f'Both models were probed on a 2 x 3 x {size[0]} x {size[1]} batch; '
                 'what is paired (student <- teacher):')
    lines += [f'  {line}' for line in wiring.lines]
    lines.append(f'Settings: {wiring.source}.')
    lines += weight_lines
    text = ''.join(f'# {line}\n' for line in lines)
    for term in wiring.terms.values():
        for dotted in term.keys:
            _set(wiring.algorithm, dotted, term.weight)
    algorithm = dict(wiring.algorithm)
    fields = [("_delete_", 'True'), ("_scope_", "'mmrazor'"),
              ('type', repr(algorithm.pop('type'))), ('architecture', '_base_.model')]
    if preprocessor:
        fields.append(('data_preprocessor', "dict(_base_.data_preprocessor, "
                       "type='mmpretrain.ClsDataPreprocessor')"))
    if wiring.single_teacher:
        fields += [('teacher', f'dict(cfg_path={info.teacher_refs[0]!r})'),
                   ('teacher_ckpt', 'teacher_ckpt')]
    for k, v in algorithm.items():
        fields.append((k, literal(v, 4, col=5 + len(k))))
    body = ',\n'.join(f'    {k}={v}' for k, v in fields)
    text += f"_base_ = [{_base_ref(student, out)!r}]\n"
    if wiring.single_teacher:
        text += f"teacher_ckpt = {info.teacher_ckpts[0]!r}\n"
    text += f"model = dict(\n{body},\n)\n"
    for k, v in wiring.top.items():
        text += f'{k} = {literal(v, 0, col=len(k) + 3)}\n'
    keys = [k for term in wiring.terms.values() for k in term.keys]
    text += ("# the loss weights a sweep scales together (protocol v2, rule 3)\n"
             "sweep_weights = [\n" + ''.join(f"    {k!r},\n" for k in keys) + "]\n")
    return text


def train_batches(cfg, count: int = 2) -> list:
    """``count`` batches of the config's train_dataloader (its batch size and sampler,
    no worker processes)."""
    try:
        it = iter(build_loader(cfg, 'train'))
        return [next(it) for _ in range(count)]
    except Exception as err:  # noqa: BLE001 - the user's dataset, any error
        raise AutowireError(
            f'student: measuring the loss weights needs {count} batches of its '
            f'train_dataloader, which failed ({type(err).__name__}: {err}); point '
            'the data root at your data, or keep the start weights with '
            '--no-measure') from None


def measure_terms(path: str, wiring: Wiring, student_ckpt: Optional[str] = None,
                  batches: int = 2, options: Optional[dict] = None) -> List[str]:
    """Set the terms' weights of ``wiring`` by the project rule (:mod:`.balance`),
    measured with the config at ``path`` (the terms at their start weights; ``options``
    merged in, e.g. the data root) on ``batches`` of its training data; returns the
    header lines saying what was found."""
    import torch
    from mmengine.config import Config
    from mmengine.registry import DefaultScope
    from mmrazor.registry import MODELS

    from ..compat import load_local_checkpoint
    cfg = Config.fromfile(path)
    cfg.merge_from_dict(dict(options or {}))
    data = train_batches(cfg, batches)
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope')):
        algo = MODELS.build(cfg.model)
        if student_ckpt:
            if not osp.isfile(student_ckpt):
                raise AutowireError(f'student-ckpt: checkpoint file {student_ckpt!r} not '
                                    'found')
            state = load_local_checkpoint(student_ckpt, map_location='cpu')
            algo.student.load_state_dict(state.get('state_dict', state))
        pulls = {side: loss_pulls(algo, data, side)
                 for side in sorted({t.side for t in wiring.terms.values()})}
    weights, notes = balanced_weights(wiring.terms, pulls)
    for name, term in wiring.terms.items():
        term.weight = weights[name]
    where = f'at the student checkpoint {student_ckpt}' if student_ckpt else \
        'at the untrained student (--student-ckpt: at a trained one, as the benchmarks)'
    return [f'Loss weights: the project rule (kd_plugins/autowire/balance.py): the terms '
            f'of a side pull {TARGET}x its task gradient',
            f'in all, in equal shares; measured on {batches} batches of the student\'s '
            f'train_dataloader {where}:'] + [f'  {n}' for n in notes]


def write_config(method_name: str, student: str,
                 teacher: Union[str, Sequence[str]],
                 teacher_ckpt: Union[str, Sequence[str]], out: Optional[str] = None,
                 input_size: Optional[Sequence[int]] = None, measure: bool = True,
                 student_ckpt: Optional[str] = None, batches: int = 2,
                 options: Optional[dict] = None) -> str:
    """The config text (module docstring); written to ``out`` when given. ``teacher`` /
    ``teacher_ckpt``: one each, or lists of equal length (M6's several teachers).
    ``measure``: set kd_plugins methods' loss weights by the project rule on
    ``batches`` of the student's training data (``options``: config options for
    that, e.g. its data root; False: start weights, said in the header)."""
    name = check_method(method_name)
    teachers = [teacher] if isinstance(teacher, str) else list(teacher or [])
    ckpts = [teacher_ckpt] if isinstance(teacher_ckpt, str) else list(teacher_ckpt or [])
    if not teachers:
        raise AutowireError('teacher: no teacher config given')
    if len(teachers) != len(ckpts):
        raise AutowireError(f'teacher-ckpt: {len(ckpts)} checkpoint(s) for '
                            f'{len(teachers)} teacher(s); give one per teacher, in order')
    if len(teachers) > 1 and name != 'M6':
        raise AutowireError(f'teacher: {name} distils from one teacher, got '
                            f'{len(teachers)} (several teachers: M6)')
    s_cfg = load_config(student, 'student')
    s_task = task_of(s_cfg, 'student')
    t_cfgs = []
    for i, ref in enumerate(teachers):
        arg = 'teacher' if len(teachers) == 1 else f'teacher {i}'
        t_cfg = load_config(ref, arg)
        t_task = task_of(t_cfg, arg)
        if s_task != t_task:
            raise AutowireError(f'student / {arg}: the student is a {s_task} model and '
                                f'the {arg} a {t_task} one; distillation needs one task')
        t_cfgs.append(t_cfg)
    tasks = method_tasks(name)
    if s_task not in tasks:
        fits = [n for n in all_methods() if s_task in method_tasks(n)]
        raise AutowireError(f'method: {name} serves {", ".join(tasks)}, not '
                            f'{s_task}; for {s_task}: {fits}')
    t_models = []
    for i, (t_cfg, ckpt) in enumerate(zip(t_cfgs, ckpts)):
        t_models.append(build_model(t_cfg, 'teacher' if len(teachers) == 1 else
                                    f'teacher {i}'))
        check_teacher_checkpoint(t_models[-1], ckpt)
    s_model = build_model(s_cfg, 'student')
    size = tuple(input_size) if input_size is not None else input_size_of(s_cfg)
    info = PairInfo(
        s_task, size, probe(s_cfg, size, 'student', model=s_model),
        [probe(c, size, 'teacher', model=m) for c, m in zip(t_cfgs, t_models)],
        s_model, t_models, [_base_ref(t, None) for t in teachers],
        [osp.abspath(c) for c in ckpts])
    if name in METHODS:
        wiring, title = baseline_wiring(METHODS[name], info), METHODS[name].title
    else:
        wiring, title = PROJECT_METHODS[name][1](info), PROJECT_METHODS[name][2]
    # mmpretrain keeps the preprocessor at the top level; the Runner hands it to the
    # algorithm (built in the mmrazor scope), so it must say its type
    preprocessor = scope_of(s_cfg) == 'mmpretrain' and isinstance(
        s_cfg.get('data_preprocessor'), dict)
    if not wiring.measured:
        weight_lines = [f'Loss weights: {wiring.source} (MMRazor\'s baselines start from '
                        'their published weights: protocol v2, rule 3).']
    elif not measure:
        weight_lines = ['Loss weights: start weights, NOT measured (--no-measure); the '
                        'project rule sets them on two batches of your data.']
    else:
        folder = osp.dirname(osp.abspath(out)) if out else None
        fd, tmp = tempfile.mkstemp(suffix='.py', prefix='.kd_measure_', dir=folder)
        os.close(fd)
        try:
            with open(tmp, 'w') as f:
                f.write(_text(name, title, info, wiring, student, out and tmp,
                              preprocessor, []))
            weight_lines = measure_terms(tmp, wiring, student_ckpt, batches, options)
        finally:
            os.remove(tmp)
    text = _text(name, title, info, wiring, student, out, preprocessor, weight_lines)
    if out is not None:
        with open(out, 'w') as f:
            f.write(text)
    return text


__all__ = ['METHODS', 'Method', 'all_methods', 'baseline_wiring', 'check_method',
           'check_teacher_checkpoint', 'measure_terms', 'method_tasks', 'train_batches',
           'write_config']
