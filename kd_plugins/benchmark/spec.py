"""What a benchmark task is made of (tasks/ use this; engine.py runs it):
the spec types, their validation, reading configs and logs, the calibration checks.

    from ..spec import TEACHER, Data, Row, Schedule, Task, Teacher    # a task file

A task is a :class:`Task`: its toy data (:class:`Data`), teacher(s) (:class:`Teacher`),
the students' :class:`Schedule`, the rows (:class:`Row`: the no-KD ``student`` and every
method or baseline), the metric and its reader, the calibration :class:`Check` s. Nothing
here runs a job; :func:`validate` fails before any run, naming task, row and field.
"""
import copy
import hashlib
import json
import math
import os
import os.path as osp
import pickle
import pprint
import re
import statistics
import sys
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from .jobs import ROOT

PROTOCOL = 'v2'
TUNING_SEED = 100
SCALES = (0.25, 1, 4)
PREFERENCE = (1, 0.25, 4)  # equal val scores: x1 first, then the smaller scale
REPORT_SEEDS = (0, 1, 2)
TASK_KINDS = ('detection', 'semi-supervised', 'classification', 'data-free',
              'segmentation', 'retrieval')
# primary metric -> label (higher is better, fractions)
METRICS = {'bbox_mAP': 'bbox mAP', 'mIoU': 'mIoU', 'top1': 'top-1', 'R@1': 'Recall@1'}
ROW_NAME = re.compile(r'^(teacher|student|M[1-8](-[\w.+]+)?|(mmrazor|baseline):[\w.+-]+)$')
PUBLISHED, PROJECT_RULE = 'published default', 'project rule (grad-balance)'
TEACHER = {'model.teacher_ckpt': 'teacher'}  # the usual single-teacher wiring


class SpecError(ValueError):
    """A task spec that cannot run: names the task, the row and the field."""


# ----------------------------------------------------------------------------- specs
@dataclass(frozen=True)
class Schedule:
    """``length`` epochs (``unit='epoch'``) or iterations of training, the LR decay entry
    ``param_scheduler.<decay>`` ending there (its ``decay_keys``), one evaluation and one
    checkpoint at the end. ``grows_with_data``: the length is multiplied by ``--scale``
    (an iteration schedule over N times the data); ``smoke``: the length with --smoke."""
    length: int
    unit: str = 'epoch'
    decay: int = 1
    decay_keys: tuple = ('end', 'T_max')
    grows_with_data: bool = False
    smoke: int = 1

    def at(self, scale=1, smoke=False):
        if smoke:
            return self.smoke
        return self.length * (scale if self.grows_with_data else 1)

    def options(self, length):
        loop = 'max_epochs' if self.unit == 'epoch' else 'max_iters'
        opts = {f'train_cfg.{loop}': length, 'train_cfg.val_interval': length,
                'default_hooks.checkpoint.interval': length}
        opts.update({f'param_scheduler.{self.decay}.{k}': length for k in self.decay_keys})
        return opts

    def checkpoint(self, length):
        return f'{"epoch" if self.unit == "epoch" else "iter"}_{length}.pth'

    def describe(self, length):
        return f'{length} {"epochs" if self.unit == "epoch" else "iterations"}'


@dataclass(frozen=True)
class Data:
    """A toy set made by ``tools/make_toy_data.py <kind> --out <root>`` (``<root>_x<N>``
    at --scale N) with ``sizes`` (flag -> count, multiplied by the scale) and ``fixed``
    flags; ``extra(root, seeds)`` gives more make_toy_data argument lists (e.g. the
    labeled splits of every seed). ``kind=None``: data that is not made here (the
    user's, in compare); ``<root>/meta.json`` describes it (its hash keys the runs)."""
    kind: Optional[str]
    root: str
    sizes: dict = field(default_factory=dict)
    fixed: dict = field(default_factory=dict)
    extra: Optional[Callable] = None

    def root_at(self, scale):
        return self.root if scale == 1 else f'{self.root}_x{scale}'

    def flags(self, scale):
        out = {k: v * scale for k, v in self.sizes.items()}
        out.update(self.fixed)
        return out

    def commands(self, scale, seeds):
        root = self.root_at(scale)
        tool = [sys.executable, 'tools/make_toy_data.py']
        flags = [str(a) for k, v in self.flags(scale).items() for a in (k, v)]
        cmds = [tool + [self.kind, '--out', root, *flags, '--overwrite']]
        if self.extra is not None:
            cmds += [tool + [str(a) for a in args] for args in self.extra(root, seeds)]
        return cmds


@dataclass(frozen=True)
class Teacher:
    """A teacher the engine trains (seed 0; on every reporting seed with
    ``report_seeds``). ``select_on_val``: it is also scored on val, and rows that distil
    from ``'best'`` use the best of those teachers (its test numbers are the teacher
    row, the others go to the row's extra). ``checkpoint``: a teacher trained already
    (the user's, in compare): not trained, only scored on test."""
    name: str
    config: str
    schedule: Schedule
    options: dict = field(default_factory=dict)
    report_seeds: bool = False
    select_on_val: bool = False
    checkpoint: Optional[str] = None


@dataclass(frozen=True)
class Row:
    """One row of the table. ``teachers``: config option -> teacher name (``'best'``: the
    best ``select_on_val`` teacher; then ``config`` may be ``{teacher name: config}``);
    empty for a row that distils nothing (the student, a supervised baseline).
    ``options``: cfg options (a dict, or ``ctx -> dict`` with ``ctx.root``, ``ctx.seed``,
    ``ctx.scale``); ``base_options``: ``root -> dict`` instead of the task's.
    Sweep keys: ``sweep_keys`` when given, else the config's ``sweep_weights`` variable,
    else ``default_sweep_keys``, else every ``model.distiller.distill_losses.*.
    loss_weight``. ``derived_from``: not trained; the
    teacher of that row's seed runs, exported and tested on test (M8-teacher).
    ``variant_of``: the row this one varies, for a baseline (an ``M<k>-...`` row varies
    ``M<k>``): reported as that row minus this one, like an ablation. ``drop_vs``: another
    variant row; reported: how much less this row's reference loses to this row than
    that row's reference loses to that row (per seed, paired)."""
    name: str
    config: Any = None
    teachers: dict = field(default_factory=dict)
    options: Any = field(default_factory=dict)
    base_options: Optional[Callable] = None
    schedule: Optional[Schedule] = None
    start_from: Optional[str] = None
    readme: Optional[str] = None
    sweep_keys: Optional[tuple] = None
    default_sweep_keys: Optional[tuple] = None
    derived_from: Optional[str] = None
    note: str = ''
    variant_of: Optional[str] = None
    drop_vs: Optional[str] = None

    @property
    def distilling(self):
        return bool(self.teachers) and self.derived_from is None

    @property
    def origin(self):
        if self.start_from:
            return self.start_from
        return PUBLISHED if self.name.startswith(('mmrazor:', 'baseline:')) else PROJECT_RULE


@dataclass(frozen=True)
class Check:
    """A calibration check: ``value(results)`` (a number or bool, or ``(value, note)``;
    None when it cannot be measured: then it is not met) compared with ``target``."""
    name: str
    value: Callable
    target: Any
    op: str = '>='
    text: str = ''

    def met(self, value):
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return False
        return {'>=': value >= self.target, '<=': value <= self.target,
                '>': value > self.target, '<': value < self.target,
                '==': value == self.target}[self.op]


@dataclass(frozen=True)
class Task:
    """A benchmark task: see the module docstring and tasks/det.py.
    ``base_options(root)``: every run (data root, loaders); ``split_options(root, split,
    loader)``: point ``<loader>_dataloader`` / ``<loader>_evaluator`` at ``split``;
    ``read_metrics(log_text, run_dir)``: ``dict(value, extra, per_class)`` of the run's
    evaluation or None. ``secondary``: keys of that ``extra`` compared paired like the
    metric (rule 5: "beats on mIoU and on boundary F")."""
    name: str
    task: str
    dataset: str
    metric: str
    data: Data
    base_options: Callable
    split_options: Callable
    read_metrics: Callable
    teachers: tuple
    schedule: Schedule
    rows: tuple
    checks: tuple = ()
    timing_iters: int = 12
    minutes_per_run: float = 5.0
    notes: str = ''
    secondary: tuple = ()

    def dataset_at(self, scale):
        return self.dataset if scale == 1 else f'{self.dataset}-x{scale}'

    def row(self, name):
        return next((r for r in self.rows if r.name == name), None)

    def row_names(self):
        return ['teacher'] + [r.name for r in self.rows]


# --------------------------------------------------------------------- config access
_CONFIGS = {}


def load_config(path):
    """The parsed config at ``path`` (from the project root; cached, kd_plugins is not
    imported: only the text is resolved)."""
    from mmengine.config import Config
    if path not in _CONFIGS:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            _CONFIGS[path] = Config.fromfile(osp.join(ROOT, path),
                                             import_custom_modules=False)
    return _CONFIGS[path]


def forget_configs():
    """Parse every config again from now on (a file may have changed)."""
    _CONFIGS.clear()


def resolve(path, options):
    """The config at ``path`` with ``options`` (dotted keys) merged in."""
    cfg = copy.deepcopy(load_config(path))
    cfg.merge_from_dict(copy.deepcopy(options))  # merging pops a dict's _delete_
    return cfg


def canonical(cfg):
    return json.dumps(cfg.to_dict(), sort_keys=True, default=repr)


def config_text(cfg):
    """A resolved config as a plain Python file (literals only; reads back equal)."""
    return ''.join(f'{k} = {pprint.pformat(v, width=88, sort_dicts=False)}\n'
                   for k, v in cfg.to_dict().items())


def lookup(tree, dotted):
    """The value at a dotted path (list indices as numbers); KeyError if absent."""
    node = tree
    for part in dotted.split('.'):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, (list, tuple)) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            raise KeyError(part)
    return node


def is_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def sweep_keys(row, tree):
    """The loss-weight keys a row's sweep scales (see :class:`Row`)."""
    if row.sweep_keys:
        return list(row.sweep_keys)
    if tree.get('sweep_weights'):
        return list(tree['sweep_weights'])
    if row.default_sweep_keys:
        return list(row.default_sweep_keys)
    losses = tree.get('model', {}).get('distiller', {}).get('distill_losses', {}) or {}
    return [f'model.distiller.distill_losses.{k}.loss_weight' for k, v in losses.items()
            if isinstance(v, dict) and 'loss_weight' in v]


def sha256(obj):
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=repr).encode()).hexdigest()


def file_stamp(path):
    """What identifies a file that is not the engine's (a user's checkpoint): its
    absolute path, size and modification time."""
    st = os.stat(path)
    return [osp.abspath(path), st.st_size, st.st_mtime_ns]


def scale_order(scales):
    """``scales`` in the order ties are broken and sweeps are listed: PREFERENCE (x1,
    then the smaller), then a custom sweep's other scales, smaller first."""
    return [s for s in PREFERENCE if s in scales] + sorted(s for s in scales
                                                           if s not in PREFERENCE)


def seeds_problem(seeds):
    """Why ``seeds`` cannot be reporting seeds, or None."""
    if len(set(seeds)) != len(seeds) or min(seeds) < 0 or TUNING_SEED in seeds:
        return (f'--seeds must be distinct non-negative integers other than the tuning '
                f'seed {TUNING_SEED}')
    return None


# ---------------------------------------------------------------------- validation
@dataclass
class Ctx:
    """What a row's options may depend on."""
    root: str
    seed: int
    scale: int = 1


def row_options(task, row, ctx):
    base = (row.base_options or task.base_options)(ctx.root)
    extra = row.options(ctx) if callable(row.options) else row.options
    return dict(base, **extra)


def row_configs(row):
    return list(row.config.values()) if isinstance(row.config, dict) else [row.config]


def validate(task, scale=1):
    """Raise :class:`SpecError` for the first problem of ``task`` (before any run)."""
    def fail(where, what):
        raise SpecError(f'task {task.name!r}: {where}: {what}')

    if task.task not in TASK_KINDS:
        fail('task', f'{task.task!r} is not one of {list(TASK_KINDS)}')
    if task.metric not in METRICS:
        fail('metric', f'unknown metric {task.metric!r} (known: {sorted(METRICS)})')
    if not task.teachers:
        fail('teachers', 'a task needs a teacher')
    tnames = [t.name for t in task.teachers]
    selectable = [t.name for t in task.teachers if t.select_on_val]
    for t in task.teachers:
        if not osp.isfile(osp.join(ROOT, t.config)):
            fail(f'teacher {t.name!r}', f'config {t.config!r} not found')
        if t.report_seeds and t.select_on_val:
            fail(f'teacher {t.name!r}', 'report_seeds and select_on_val together')
    names = [r.name for r in task.rows]
    if 'student' not in names:
        fail('rows', 'no "student" row (the no-KD reference)')
    ctx = Ctx(task.data.root_at(scale), REPORT_SEEDS[0], scale)
    for row in task.rows:
        where = f'row {row.name!r}'
        if not ROW_NAME.match(row.name) or row.name == 'teacher':
            fail(where, 'name: not a BENCHMARKS.md row name (teacher, student, M1..M8, '
                 'M<k>-<variant>, mmrazor:<x>, baseline:<x>; the teacher row comes '
                 'from the teachers)')
        if names.count(row.name) > 1:
            fail(where, 'name: appears twice')
        for field_name in ('variant_of', 'drop_vs'):
            other = getattr(row, field_name)
            if other is not None and (other not in names or other == row.name):
                fail(where, f'{field_name}: {other!r} is not another row of the task')
        if row.derived_from is not None:
            source = task.row(row.derived_from)
            if source is None or not source.distilling:
                fail(where, f'derived_from: {row.derived_from!r} is not a distilling row')
            continue
        for ref in row.teachers.values():
            if ref not in tnames and not (ref == 'best' and len(selectable) >= 2):
                fail(where, f'teachers: unknown teacher {ref!r} (known: {tnames}'
                     + (", 'best'" if len(selectable) >= 2 else '') + ')')
        if isinstance(row.config, dict):
            unknown = [t for t in row.config if t not in selectable]
            if 'best' not in row.teachers.values() or unknown or not row.config:
                fail(where, 'config: a per-teacher config needs a "best" teacher and '
                     f'names selectable teachers only ({selectable}; got {unknown})')
        for path in row_configs(row):
            if not isinstance(path, str) or not osp.isfile(osp.join(ROOT, path)):
                fail(where, f'config: {path!r} not found')
            try:
                tree = resolve(path, row_options(task, row, ctx)).to_dict()
            except Exception as e:  # noqa: BLE001 - a config that does not parse
                fail(where, f'config: {path} does not resolve ({e})')
            extra = row.options(ctx) if callable(row.options) else row.options
            for key in extra:
                parent = key.rsplit('.', 1)[0] if '.' in key else None
                try:
                    if parent:
                        lookup(tree, parent)
                except KeyError:
                    fail(where, f'options: {key!r} has no parent in {path}')
            for key in row.teachers:
                try:
                    lookup(tree, key)
                except KeyError:
                    fail(where, f'teachers: checkpoint option {key!r} not in {path}')
            if row.distilling:
                keys = sweep_keys(row, tree)
                if not keys:
                    fail(where, f'sweep keys: none in {path} (no sweep_weights, no '
                         'distill_losses.*.loss_weight; give sweep_keys)')
                for key in keys:
                    try:
                        value = lookup(tree, key)
                    except KeyError:
                        fail(where, f'sweep key {key!r} does not resolve in {path}')
                    if not is_number(value):
                        fail(where, f'sweep key {key!r} is {value!r} in {path}, '
                             'not a number')
        if row.readme and not osp.isdir(osp.join(ROOT, row.readme)):
            fail(where, f'readme: folder {row.readme!r} not found')
    return True


def loader_roots(root, loaders=('train', 'val', 'test'), workers=None):
    """Options that point the ``loaders`` at ``root`` (``workers`` processes each)."""
    root = root.rstrip('/') + '/'
    opts = {f'{name}_dataloader.dataset.data_root': root for name in loaders}
    if workers is not None:
        opts.update({f'{name}_dataloader.num_workers': workers for name in loaders})
    return opts


# ------------------------------------------------------------------------ log reading
EVAL_LINE = re.compile(r'(?:Epoch|Iter)\((?:val|test)\)')
PAIR = re.compile(r'([A-Za-z][\w/@.\-]*): (-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)(?=\s|$)')
NOT_METRICS = {'eta', 'time', 'data_time', 'memory', 'lr', 'loss'}
GPU_MEM = re.compile(r'\smemory: (\d+)')


def last_eval(text):
    """``{name: value}`` of the last evaluation line (val or test) of a log, or None."""
    for line in reversed(text.splitlines()):
        if EVAL_LINE.search(line):
            found = {k: float(v) for k, v in PAIR.findall(line) if k not in NOT_METRICS}
            if found:
                return found
    return None


def class_table(text, column):
    """``{class: value}`` of the last per-class table of a log that has ``column``
    (mmseg's ``per class results``), or None."""
    lines = text.splitlines()
    for i in range(len(lines) - 1, -1, -1):
        cells = [c.strip() for c in lines[i].strip().strip('|').split('|')]
        if lines[i].lstrip().startswith('|') and 'Class' in cells and column in cells:
            name_at, col = cells.index('Class'), cells.index(column)
            out = {}
            for line in lines[i + 1:]:
                s = line.strip()
                if s.startswith('+'):
                    continue
                if not s.startswith('|'):
                    break
                row = [c.strip() for c in s.strip('|').split('|')]
                try:
                    out[row[name_at]] = float(row[col])
                except (ValueError, IndexError):
                    out[row[name_at]] = float('nan')
            return out or None
    return None


def per_class_recall(path):
    """``{class: recall}`` from a DumpResults pickle of classification predictions (the
    class name is the image's folder), or None."""
    if not osp.isfile(path):
        return None
    with open(path, 'rb') as f:
        samples = pickle.load(f)  # tensors inside: torch is imported by the unpickler

    def scalar(x):
        x = x.tolist() if hasattr(x, 'tolist') else x
        while isinstance(x, (list, tuple)):
            x = x[0]
        return int(x)

    hits, total = {}, {}
    for s in samples:
        gt = scalar(s['gt_label'])
        name = osp.basename(osp.dirname(s.get('img_path', ''))) or f'class{gt}'
        total[name] = total.get(name, 0) + 1
        hits[name] = hits.get(name, 0) + (scalar(s['pred_label']) == gt)
    return {k: hits[k] / total[k] for k in sorted(total)} or None


# ------------------------------------------------------------------ calibration checks
def _mean(r, name):
    v = r.values(name)
    return statistics.fmean(v) if v else None


def _std(r, name):
    v = r.values(name)
    return (statistics.stdev(v) if len(v) > 1 else 0.0) if v else None


def teacher_minus_student(target):
    def value(r):
        t, s = _mean(r, 'teacher'), _mean(r, 'student')
        return None if t is None or s is None else t - s
    return Check('teacher_minus_student', value, target, '>=',
                 'teacher minus no-KD student (test means)')


def student_std(target, row='student'):
    return Check('student_std', lambda r: _std(r, row), target, '<=',
                 'no-KD student std over the reporting seeds')


def teacher_std(target):
    return Check('teacher_std', lambda r: _std(r, 'teacher'), target, '<=',
                 'teacher std over the reporting seeds')


def row_mean(name, row, target, text):
    return Check(name, lambda r: _mean(r, row), target, '>=', text)


def classes_learned(threshold, rows=('student',)):
    """Every per-class value of every seed of the no-KD row(s) above ``threshold``."""
    def value(r):
        low = None
        for name in rows:
            st = r.rows.get(name)
            if st is None or not st.complete:
                return None
            for seed in st.want:
                pc = st.seeds[seed].get('per_class')
                if not pc:
                    return None
                for cls, v in pc.items():
                    if low is None or not v > low[0]:
                        low = (v, f'{cls} {v:.3f} ({name} s{seed})')
        if low is None:
            return None
        return (low[0] > threshold and not math.isnan(low[0]), f'lowest: {low[1]}')
    return Check('classes_learned', value, True, '==',
                 f'every class > {threshold} for every no-KD seed')


def run_minutes(target):
    def value(r):
        worst = None
        for st in r.rows.values():
            if st.role != 'distilling':
                continue
            for res in list(st.sweep.values()) + list(st.seeds.values()):
                if worst is None or res.get('seconds', 0) > worst[0]:
                    worst = (res.get('seconds', 0), res.get('tag'))
        return None if worst is None else (worst[0] / 60, f'longest: {worst[1]}')
    return Check('run_minutes', value, target, '<=',
                 'wall minutes of the longest distillation run')


def data_classes(split, target):
    def value(r):
        stats = (r.meta or {}).get('stats', {}).get(split, {})
        classes = stats.get('classes')
        return None if classes is None else len(classes)
    return Check(f'{split}_classes', value, target, '>=',
                 f'classes in the {split} split (data meta.json)')


def teachers_complementary(target):
    """Each of the two ``select_on_val`` teachers beats the other on some class of the
    test split by at least ``target`` (value: the smaller of the two largest leads)."""
    def value(r):
        names = [t.name for t in r.task.teachers if t.select_on_val]
        pcs = []
        for n in names[:2]:
            runs = r.plan.teachers[n].runs
            if not runs:
                return None
            pcs.append(next(iter(runs.values())).get('per_class') or {})
        if len(pcs) < 2 or not pcs[0] or not pcs[1]:
            return None
        common = [c for c in pcs[0] if c in pcs[1]]
        leads = [max(pcs[i][c] - pcs[1 - i][c] for c in common) for i in (0, 1)]
        return (min(leads), f'{names[0]} leads by {leads[0]:.3f}, {names[1]} by '
                f'{leads[1]:.3f} on its best class')
    return Check('teachers_complementary', value, target, '>=',
                 'each teacher better than the other on some class (test IoU lead)')
