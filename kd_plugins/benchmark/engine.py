"""The protocol-v2 benchmark engine (../shared/BENCHMARKS.md): a task spec in; runs, the
result file, the table, the plot and the README embeds out.

    python tools/benchmark/run.py det [--jobs 2] [--plan]     # the command line (cli.py)

A task (``kd_plugins/benchmark/tasks/<name>.py``) is a short declarative ``spec.Task``: its
toy data, teacher(s), the no-KD student, the rows, the metric and the calibration
checks (spec.py). For one task (cli.py has validated it first: ``spec.validate``)
the engine
1. plans nothing that does not resolve: configs, row names, metric, teachers and sweep
   keys were checked before any run,
2. makes the data (tools/make_toy_data.py; idempotent; the user's data in compare is
   described by a meta.json, not made),
3. plans and runs, ``--jobs`` at a time (each a subprocess of tools/train.py /
   tools/test.py with ``cores // jobs`` threads): the teachers (seed 0; every reporting
   seed where the task asks; a teacher given as a checkpoint is only scored on test),
   every distilling row's sweep (all its sweep weights x0.25, x1, x4 or the scales of
   ``Settings.scales``, tuning seed 100, evaluated once at the end on val), the best
   val scale's reporting seeds (0, 1, 2, evaluated on test), the other rows' seeds;
   then one interleaved timing process for the cost columns
   (tools/benchmark/iter_timing.py),
4. caches every run under ``<work-dir>/runs/`` keyed by the sha256 of its resolved
   config (every option merged: schedule, seed, split, weights, checkpoints), the data's
   meta.json and the keys + completion stamps of the runs it depends on. A changed
   config never reuses a result, an unchanged one always does; a run without
   ``result.json`` (killed) or with ``failed.json`` is run again on the next call,
5. hands the finished results to report.py (JSON, markdown, plot, embeds).

The subprocess runner is injectable (``Bench(runner=...)``): the tests use a fake one.
"""
import fcntl
import glob
import hashlib
import itertools
import json
import os
import os.path as osp
import shutil
import statistics
import sys
import threading
import time
import uuid
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any, Optional

from .jobs import ROOT, log, run_logged, write_json, write_text
from .spec import (GPU_MEM, PROTOCOL, REPORT_SEEDS, SCALES, TUNING_SEED, Ctx, Task,
                   canonical, config_text, file_stamp, forget_configs, lookup, resolve,
                   row_options, scale_order, sha256, sweep_keys)

ROLE_ORDER = {'teacher': 0, 'sweep': 1, 'seed': 2, 'eval': 3, 'timing': 4}


class SpecError(ValueError):
    """A task spec that cannot run: names the task, the row and the field."""


@dataclass
class Settings:
    """What the command line chose (cli.py)."""
    scale: int = 1
    machine: str = 'cpu2'
    jobs: int = 2
    seeds: tuple = REPORT_SEEDS
    rows: Optional[tuple] = None
    rerun: tuple = ()
    work_dir: str = 'work_dirs/bench'
    out: str = 'benchmarks'
    embed: bool = True
    smoke: bool = False
    command: str = ''
    summary_readme: str = 'README.md'  # gets the summary table if it has the markers
    scales: tuple = SCALES  # the sweep's loss-weight scales (compare may ask for fewer)
    # how training runs start: python <train_launch> tools/train.py CFG --work-dir DIR
    # <train_args> (compare --launcher pytorch: torch.distributed.run ... / --launcher
    # pytorch); not part of a run's key, so a run resumes under another launcher
    train_launch: tuple = ()
    train_args: tuple = ()
    # the cores this process may use (``taskset -c 0 ...`` gives the engine one)
    cores: int = field(default_factory=lambda: len(os.sched_getaffinity(0)) or 1)

    @property
    def threads(self):
        return max(1, self.cores // self.jobs)


# ------------------------------------------------------------------------ run states
@dataclass
class Run:
    """One subprocess job: its commands, where it lives, what it is."""
    kind: str  # train | test | export-test | timing
    role: str  # teacher | sweep | seed | eval | timing (order and ETA groups)
    tag: str
    key: str
    dir: str
    commands: list
    row: Optional[str] = None
    seed: Optional[int] = None
    split: Optional[str] = None
    scale: Optional[float] = None
    options: dict = field(default_factory=dict)
    cfg: Any = None
    checkpoint: Optional[str] = None
    keep_checkpoint: bool = False
    length: Optional[int] = None
    unit: Optional[str] = None

    log_file: Optional[str] = None

    @property
    def log(self):
        return self.log_file or osp.join(self.dir, 'run.log')

    @property
    def result_file(self):
        return osp.join(self.dir, 'result.json')


@dataclass
class RowState:
    """What is known about one output row."""
    name: str
    role: str  # teacher | plain | distilling | derived
    config: Optional[str] = None
    seeds: dict = field(default_factory=dict)  # seed -> result
    sweep: dict = field(default_factory=dict)  # scale -> result
    chosen: Optional[float] = None
    start: Optional[dict] = None
    start_from: Optional[str] = None
    failed: list = field(default_factory=list)
    readme: Optional[str] = None
    selected: bool = True
    schedule: Optional[str] = None
    extra: dict = field(default_factory=dict)
    want: tuple = ()

    @property
    def complete(self):
        return (not self.failed and bool(self.want)
                and all(s in self.seeds for s in self.want))

    def values(self):
        return [self.seeds[s]['value'] for s in self.want] if self.complete else None


@dataclass
class TeacherState:
    name: str
    runs: dict = field(default_factory=dict)  # seed -> test result
    val: Optional[dict] = None
    ckpt: Optional[str] = None
    dep: Optional[tuple] = None  # (key, stamp) of the run that made ckpt
    failed: list = field(default_factory=list)
    want: tuple = ()

    @property
    def ready(self):
        return self.ckpt is not None and not self.failed

    @property
    def complete(self):
        return not self.failed and all(s in self.runs for s in self.want)


@dataclass
class Plan:
    todo: list = field(default_factory=list)
    running: list = field(default_factory=list)
    cached: list = field(default_factory=list)
    waiting: dict = field(default_factory=dict)  # role -> runs not plannable yet
    why: list = field(default_factory=list)  # (row, what it waits for)
    teachers: dict = field(default_factory=dict)
    rows: dict = field(default_factory=dict)
    best: Optional[str] = None
    timing: Optional[dict] = None
    timing_failed: Optional[dict] = None
    durations: dict = field(default_factory=dict)  # role -> seconds of finished runs
    done: int = 0

    def wait(self, role, count, row, what):
        self.waiting[role] = self.waiting.get(role, 0) + count
        self.why.append((row, what))

    def remaining(self):
        left = {}
        for r in self.todo + self.running:
            left[r.role] = left.get(r.role, 0) + 1
        for role, n in self.waiting.items():
            left[role] = left.get(role, 0) + n
        return left


# -------------------------------------------------------------------------- runners
class SubprocessRunner:
    """Runs a job's commands (jobs.py ``run_logged``); ``stop()`` ends the running
    ones. ``pass_fds``: file descriptors the children keep (the work dir lock)."""

    def __init__(self, pass_fds=()):
        self.pass_fds = tuple(pass_fds)
        self.procs = set()
        self._lock = threading.Lock()

    def _started(self, proc):
        with self._lock:
            self.procs.add(proc)

    def __call__(self, run, env, on_progress):
        try:
            return run_logged(run.commands, run.log, env=env, on_progress=on_progress,
                              pass_fds=self.pass_fds, started=self._started)
        finally:
            with self._lock:
                self.procs = {p for p in self.procs if p.poll() is None}

    def stop(self):
        with self._lock:
            for p in self.procs:
                if p.poll() is None:
                    p.terminate()


def lock_work_dir(work_dir, groups):
    """Hold ``<work_dir>/.lock-<group>`` for each of ``groups`` (the data roots of the
    tasks to run: one benchmark per data at a time, as tasks on the same data share
    its making and their teachers; tasks on different data may run side by side). The
    fds are inheritable so that a run left over from a killed benchmark keeps holding
    them. Returns the fds."""
    os.makedirs(work_dir, exist_ok=True)
    fds = []
    for group in sorted(set(groups)):
        fd = os.open(osp.join(work_dir, f'.lock-{group}'), os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            for f in [fd, *fds]:
                os.close(f)
            raise SystemExit(f'{work_dir} is in use by another benchmark on the {group} '
                             'data (or by a run left over from a killed one: wait for it '
                             'or end it)') from None
        os.set_inheritable(fd, True)
        fds.append(fd)
    return fds


# ------------------------------------------------------------------------- the engine
def fmt_scale(s):
    return f'x{s:g}'


def fmt_duration(seconds):
    seconds = max(0, int(seconds))
    return f'{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}'


def cli_value(v):
    if isinstance(v, (list, tuple)):
        return '[' + ','.join(cli_value(x) for x in v) + ']'
    return str(v)


class Bench:
    """One task under one set of :class:`Settings`; ``execute()`` runs what is missing
    and returns the final :class:`Plan` (``plan_only()``: plans, runs nothing)."""

    def __init__(self, task, settings, runner=None, say=log):
        self.task, self.s = task, settings
        self.runner = runner or SubprocessRunner()
        lock = threading.Lock()

        def locked(msg):  # one line at a time from the run threads
            with lock:
                say(msg)
        self.say = locked
        self.root = task.data.root_at(settings.scale)
        self.runs_dir = osp.join(settings.work_dir, 'runs')
        self.inflight, self.done_now, self.failed_now = {}, {}, {}
        self.meta, self.meta_sha = None, None
        self.eta = (None, time.time())
        self.selected = self._selected(settings.rows)
        self._memo, self._starts = {}, {}
        forget_configs()  # read the configs afresh: a changed one changes the keys

    # -- setup
    def _selected(self, rows):
        names = {r.name for r in self.task.rows}
        if rows is None:
            return names
        chosen = (set(rows) & names) | {'student'}
        for r in self.task.rows:
            if r.name in chosen and r.derived_from:
                chosen.add(r.derived_from)
        return chosen

    def data_meta(self):
        path = osp.join(ROOT, self.root, 'meta.json')
        if not osp.isfile(path):
            return None
        with open(path) as f:
            text = f.read()
        self.meta = json.loads(text)
        self.meta_sha = hashlib.sha256(text.encode()).hexdigest()
        return self.meta

    def make_data(self):
        if self.task.data.kind is None:  # the user's data (compare): described, not made
            if self.data_meta() is None:
                raise SystemExit(f'{self.task.name}: no {self.root}/meta.json describing '
                                 'the data')
            return
        cmds = self.task.data.commands(self.s.scale, [TUNING_SEED, *self.s.seeds])
        os.makedirs(self.s.work_dir, exist_ok=True)
        logfile = osp.join(self.s.work_dir, f'data-{self.task.name}.log')
        self.say(f'[{self.task.name}] data: {self.root}')
        job = Run('data', 'data', f'{self.task.name} data', '', self.s.work_dir, cmds)
        job.log_file = logfile
        code, _, _ = self.runner(job, self._env(self.s.cores), None)
        if code != 0 or self.data_meta() is None:
            raise SystemExit(f'{self.task.name}: making the data failed (exit {code}); '
                             f'see {logfile}')

    def _env(self, threads):
        return dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))

    # -- runs
    def _run_dir(self, config, seed, split, scale, key):
        stem = osp.splitext(osp.basename(config))[0]
        parts = [f's{seed}' if seed is not None else None, split,
                 fmt_scale(scale) if scale is not None else None, key[:12]]
        name = '-'.join(p for p in parts if p)
        path = osp.join(self.runs_dir, stem, name)
        if not osp.isdir(path):
            # the same run (same resolved config, options, seed, split, data: the key
            # every run folder's name ends with) made under another config file's name
            # or sweep scale, e.g. by an experiment that became the method's default, or
            # a row whose start is another's x4: its result is this run's
            # (lookup_result checks the whole key)
            found = sorted(glob.glob(osp.join(self.runs_dir, '*', f'*{key[:12]}')))
            if found:
                return found[0]
        return path

    def train_run(self, role, tag, config, options, seed, split, schedule, deps=(),
                  row=None, scale=None, keep_checkpoint=False):
        length = schedule.at(self.s.scale, self.s.smoke)
        opts = dict(options)
        opts.update(schedule.options(length))
        opts.update(self.task.split_options(self.root, split, 'val'))
        opts['randomness.seed'] = seed
        ident = (config, json.dumps(opts, sort_keys=True, default=repr), deps,
                 self.meta_sha)
        if ident in self._memo:
            return self._memo[ident]
        cfg = resolve(config, opts)
        key = sha256(dict(protocol=PROTOCOL, kind='train', config=canonical(cfg),
                          seed=seed, split=split, data=self.meta_sha, deps=list(deps)))
        path = self._run_dir(config, seed, split, scale, key)
        cmd = [sys.executable, *self.s.train_launch, 'tools/train.py',
               osp.join(path, 'config.py'), '--work-dir', path, *self.s.train_args]
        run = Run('train', role, tag, key, path, [cmd], row=row, seed=seed, split=split,
                  scale=scale, options=opts, cfg=cfg,
                  checkpoint=osp.join(path, schedule.checkpoint(length)),
                  keep_checkpoint=keep_checkpoint, length=length, unit=schedule.unit)
        self._memo[ident] = run
        return run

    def test_run(self, tag, source, result, split, row=None, part=None):
        """Evaluate ``source``'s checkpoint on ``split`` (``part='teacher'``: export that
        part of a distillation checkpoint first, then evaluate it)."""
        opts = {k: v for k, v in self.task.base_options(self.root).items()
                if k.startswith('test_') and not isinstance(v, (dict, list, tuple))}
        opts.update(self.task.split_options(self.root, split, 'test'))
        deps = [(source.key, result['stamp'])]
        key = sha256(dict(protocol=PROTOCOL, kind='test', part=part, split=split,
                          options=opts, data=self.meta_sha, deps=deps))
        stem = f'{osp.basename(osp.dirname(source.dir))}-{part or "eval"}'
        path = self._run_dir(stem, source.seed, split, None, key)
        flags = ['--cfg-options', *(f'{k}={cli_value(v)}' for k, v in opts.items())]
        if part is None:
            cmds = [[sys.executable, 'tools/test.py', osp.join(source.dir, 'config.py'),
                     source.checkpoint, '--work-dir', path, *flags]]
        else:
            cmds = [[sys.executable, 'tools/export_student.py', source.checkpoint,
                     '--config', osp.join(source.dir, 'config.py'), '--out', path,
                     '--part', part],
                    [sys.executable, 'tools/test.py', osp.join(path, f'{part}.py'),
                     osp.join(path, f'{part}.pth'), '--work-dir', osp.join(path, 'test'),
                     *flags]]
        return Run('test' if part is None else 'export-test', 'eval', tag, key, path,
                   cmds, row=row, seed=source.seed, split=split, options=opts)

    def lookup_result(self, run):
        """(status, result): done (cached or finished now), running, failed, or todo."""
        if run.key in self.done_now:
            return 'done', self.done_now[run.key]
        if run.key in self.failed_now:
            return 'failed', self.failed_now[run.key]
        if run.key in self.inflight:
            return 'running', None
        try:
            with open(run.result_file) as f:
                res = json.load(f)
            kept = not run.keep_checkpoint or osp.isfile(run.checkpoint)
            if res.get('key') == run.key and kept:  # a teacher needs its checkpoint
                return 'cached', res
        except (OSError, ValueError):
            pass
        return 'todo', None

    def use(self, plan, run, selected=True):
        status, res = self.lookup_result(run)
        if status in ('done', 'cached'):
            if status == 'cached':
                plan.cached.append(run)
            plan.done += 1
            plan.durations.setdefault(run.role, []).append(res.get('seconds', 0.0))
            return 'done', res
        if status == 'running':
            plan.running.append(run)
        elif status == 'todo' and selected:
            plan.todo.append(run)
        elif status == 'todo':
            return 'skipped', None
        return status, res

    # -- planning
    def collect(self):
        """Everything known now: teachers, rows, what is to do and what waits."""
        plan = Plan()
        for t in self.task.teachers:
            plan.teachers[t.name] = self._plan_teacher(plan, t)
        select = [t.name for t in self.task.teachers if t.select_on_val]
        if select and all(plan.teachers[n].val for n in select):
            plan.best = max(select, key=lambda n: plan.teachers[n].val['value'])
        plan.rows['teacher'] = self._teacher_row(plan)
        for row in self.task.rows:
            plan.rows[row.name] = self._plan_row(plan, row)
        self._plan_timing(plan)
        unique = {}
        for run in sorted(plan.todo, key=lambda r: ROLE_ORDER[r.role]):
            unique.setdefault(run.key, run)  # two rows with the same content: one run
        plan.todo = list(unique.values())
        return plan

    def _given_teacher(self, plan, t, st):
        """A teacher the user trained (``Teacher.checkpoint``): not trained here; one
        test run scores it (the teacher row)."""
        seed = self.s.seeds[0]
        stamp = sha256(file_stamp(t.checkpoint))
        st.want, st.ckpt, st.dep = (seed, ), t.checkpoint, ('given', stamp)
        opts = dict(self.task.base_options(self.root), **t.options)
        opts.update(self.task.split_options(self.root, 'test', 'test'))
        cfg = resolve(t.config, opts)
        key = sha256(dict(protocol=PROTOCOL, kind='test-given', config=canonical(cfg),
                          data=self.meta_sha, deps=[st.dep]))
        path = self._run_dir(t.config, seed, 'test', None, key)
        cmd = [sys.executable, 'tools/test.py', osp.join(path, 'config.py'),
               osp.abspath(t.checkpoint), '--work-dir', path]
        run = Run('test', 'eval', f'{self.task.name} teacher (given) test', key, path,
                  [cmd], row='teacher', seed=seed, split='test', options=opts, cfg=cfg)
        status, res = self.use(plan, run)
        if status == 'failed':
            st.failed.append(self._failure('teacher', run, res))
        elif res is not None:
            st.runs[seed] = res
        return st

    def _plan_teacher(self, plan, t):
        st = TeacherState(t.name)
        if t.checkpoint is not None:
            return self._given_teacher(plan, t, st)
        opts = dict(self.task.base_options(self.root), **t.options)
        seeds = list(self.s.seeds) if t.report_seeds else [self.s.seeds[0]]
        st.want = tuple(seeds)
        split = 'val' if t.select_on_val else 'test'
        for seed in seeds:
            who = 'teacher' if t.name == 'teacher' else f'teacher {t.name}'
            run = self.train_run('teacher', f'{self.task.name} {who} s{seed} {split}',
                                 t.config, opts, seed, split, t.schedule, row='teacher',
                                 keep_checkpoint=True)
            status, res = self.use(plan, run)
            if status == 'failed':
                st.failed.append(self._failure('teacher', run, res))
            elif res is not None:
                if seed == seeds[0]:
                    st.ckpt, st.dep = run.checkpoint, (run.key, res['stamp'])
                if t.select_on_val:
                    st.val = res
                    test = self.test_run(f'{self.task.name} {who} s{seed} test',
                                         run, res, 'test', row='teacher')
                    tstatus, tres = self.use(plan, test)
                    if tstatus == 'failed':
                        st.failed.append(self._failure('teacher', test, tres))
                    elif tres is not None:  # test metrics, the training's cost
                        st.runs[seed] = dict(tres, seconds=res.get('seconds'),
                                             peak_mem_mb=res.get('peak_mem_mb'))
                else:
                    st.runs[seed] = res
            elif t.select_on_val:
                plan.wait('eval', 1, 'teacher', f'{t.name} test evaluation')
        return st

    def _teacher_row(self, plan):
        select = [t.name for t in self.task.teachers if t.select_on_val]
        name = plan.best if select else self.task.teachers[0].name
        state = RowState('teacher', 'teacher', readme=None)
        failed = [f for t in plan.teachers.values() for f in t.failed]
        state.failed = failed
        if name is None:
            state.want = (self.s.seeds[0],)
            return state
        t = next(t for t in self.task.teachers if t.name == name)
        ts = plan.teachers[name]
        state.config, state.want, state.seeds = t.config, ts.want, dict(ts.runs)
        state.schedule = t.schedule.describe(t.schedule.at(self.s.scale, self.s.smoke))
        state.extra = dict(teacher=name)
        if select:
            state.extra['val_by_teacher'] = {n: plan.teachers[n].val['value']
                                             for n in select}
            others = {}
            for o in self.task.teachers:
                if o.name != name:
                    runs = plan.teachers[o.name].runs
                    first = runs.get(ts.want[0]) if runs else None
                    others[o.name] = dict(config=o.config, test=first and first['value'],
                                          per_class=first and first.get('per_class'))
            state.extra['other_teachers'] = others
        return state

    def _teacher_inputs(self, plan, row):
        """(checkpoint options, deps, None) or (None, None, why not yet / failure)."""
        ckpts, deps = {}, []
        for key, ref in row.teachers.items():
            name = plan.best if ref == 'best' else ref
            if name is None:
                bad = [n for n, t in plan.teachers.items() if t.failed]
                return None, None, ('failed' if bad else 'wait', 'the best teacher')
            ts = plan.teachers[name]
            label = 'the teacher' if name == 'teacher' else f'teacher {name}'
            if ts.failed:
                return None, None, ('failed', label)
            if not ts.ready:
                return None, None, ('wait', label)
            ckpts[key] = ts.ckpt
            deps.append(ts.dep)
        return ckpts, tuple(deps), None

    def _row_config(self, plan, row):
        if isinstance(row.config, dict):
            return row.config.get(plan.best)
        return row.config

    def _plan_row(self, plan, row):
        role = 'derived' if row.derived_from else 'distilling' if row.distilling else 'plain'
        st = RowState(row.name, role, readme=row.readme, start_from=None,
                      selected=row.name in self.selected, want=tuple(self.s.seeds))
        schedule = row.schedule or self.task.schedule
        st.schedule = schedule.describe(schedule.at(self.s.scale, self.s.smoke))
        if row.derived_from:
            return self._plan_derived(plan, row, st)
        n = len(self.s.seeds)
        ckpts, deps, why = self._teacher_inputs(plan, row)
        if why is not None:
            if why[0] == 'failed':
                st.failed.append(dict(row=row.name, tag=f'{row.name} (all runs)',
                                      seed=None, log=None, returncode=None,
                                      reason=f'{why[1]} failed'))
            elif st.selected:
                if row.distilling:
                    plan.waiting['sweep'] = plan.waiting.get('sweep', 0) + len(self.s.scales)
                plan.wait('seed', n, row.name, why[1])
            return st
        st.config = self._row_config(plan, row)
        if st.config is None:
            st.failed.append(dict(row=row.name, tag=f'{row.name} (all runs)', seed=None,
                                  log=None, returncode=None, reason='no config for the '
                                  f'best teacher {plan.best} (it has {list(row.config)})'))
            return st
        keep = any(r.derived_from == row.name for r in self.task.rows)

        def opts_at(seed, scale):
            opts = row_options(self.task, row, Ctx(self.root, seed, self.s.scale))
            if scale is not None:
                opts.update({k: v * scale for k, v in st.start.items()})
            opts.update(ckpts)
            return opts

        if not row.distilling:
            self._plan_seeds(plan, row, st, schedule, opts_at, deps, None, keep)
            return st
        if (row.name, st.config) not in self._starts:
            tree = resolve(st.config, opts_at(TUNING_SEED, None)).to_dict()
            self._starts[(row.name, st.config)] = {k: lookup(tree, k)
                                                   for k in sweep_keys(row, tree)}
        st.start = self._starts[(row.name, st.config)]
        st.start_from = row.origin
        for scale in self.s.scales:
            run = self.train_run('sweep', f'{self.task.name} {row.name} {fmt_scale(scale)} '
                                 f's{TUNING_SEED} val', st.config, opts_at(TUNING_SEED, scale),
                                 TUNING_SEED, 'val', schedule, deps, row.name, scale)
            status, res = self.use(plan, run, st.selected)
            if status == 'failed':
                st.failed.append(self._failure(row.name, run, res))
            elif res is not None:
                st.sweep[scale] = res
        if len(st.sweep) == len(self.s.scales):
            st.chosen = choose_scale({s: r['value'] for s, r in st.sweep.items()})
            self._plan_seeds(plan, row, st, schedule, opts_at, deps, st.chosen, keep)
        elif not st.failed and st.selected:
            plan.wait('seed', n, row.name, 'its sweep')
        return st

    def _plan_seeds(self, plan, row, st, schedule, opts_at, deps, scale, keep):
        for seed in self.s.seeds:
            tag = f'{self.task.name} {row.name}' + (
                f' {fmt_scale(scale)}' if scale is not None else '') + f' s{seed} test'
            run = self.train_run('seed', tag, st.config, opts_at(seed, scale), seed,
                                 'test', schedule, deps, row.name, scale, keep)
            status, res = self.use(plan, run, st.selected)
            if status == 'failed':
                st.failed.append(self._failure(row.name, run, res))
            elif res is not None:
                st.seeds[seed] = dict(res, _run=run)

    def _plan_derived(self, plan, row, st):
        source = plan.rows.get(row.derived_from)
        st.config = source.config if source else None
        if source is None or source.failed:
            st.failed.append(dict(row=row.name, tag=f'{row.name} (all runs)', seed=None,
                                  log=None, returncode=None,
                                  reason=f'{row.derived_from} failed'))
            return st
        for seed in self.s.seeds:
            if seed not in source.seeds:
                if st.selected:
                    plan.wait('eval', 1, row.name, f'{row.derived_from} s{seed}')
                continue
            res = source.seeds[seed]
            run = self.test_run(f'{self.task.name} {row.name} s{seed} test', res['_run'],
                                res, 'test', row=row.name, part='teacher')
            status, out = self.use(plan, run, st.selected)
            if status == 'failed':
                st.failed.append(self._failure(row.name, run, out))
            elif out is not None:
                st.seeds[seed] = dict(out, seconds=res.get('seconds'),
                                      peak_mem_mb=res.get('peak_mem_mb'))
        return st

    def _plan_timing(self, plan):
        if plan.todo or plan.running or plan.waiting:
            return
        student = plan.rows['student']
        rows = [(n, st) for n, st in plan.rows.items()
                if st.role == 'distilling' and st.complete]
        if not rows or not student.complete:
            return
        first = self.s.seeds[0]
        methods = [(n, st.seeds[first]['_run']) for n, st in rows]
        s_run = student.seeds[first]['_run']
        key = sha256(dict(protocol=PROTOCOL, kind='timing', iters=self.timing_iters,
                          student=s_run.key, methods=[(n, r.key) for n, r in methods]))
        path = osp.join(self.runs_dir, 'timing', f'{self.task.name}-{key[:12]}')
        cmd = [sys.executable, 'tools/benchmark/iter_timing.py', '--student',
               osp.join(s_run.dir, 'config.py'), '--iters', str(self.timing_iters),
               '--json', osp.join(path, 'timing.json')]
        for name, run in methods:
            cmd += ['--method', f'{name}={osp.join(run.dir, "config.py")}']
        run = Run('timing', 'timing', f'{self.task.name} timing', key, path, [cmd])
        status, res = self.use(plan, run)
        if status == 'failed':
            plan.timing_failed = self._failure('(timing)', run, res)
        elif res is not None:
            plan.timing = res['timing']

    @property
    def timing_iters(self):
        return 2 if self.s.smoke else self.task.timing_iters

    def _failure(self, row, run, res):
        return dict(row=row, tag=run.tag, seed=run.seed, log=run.log,
                    returncode=(res or {}).get('returncode'),
                    reason=(res or {}).get('reason', 'failed'))

    # -- running
    def _execute(self, run):
        """Run one job; returns ('done', result) or ('failed', failure)."""
        shutil.rmtree(run.dir, ignore_errors=True)
        os.makedirs(run.dir)
        if run.cfg is not None:  # the resolved config the run trains (its cache key)
            write_text(osp.join(run.dir, 'config.py'),
                       config_text(run.cfg).replace('{run_dir}', run.dir))
        write_json(osp.join(run.dir, 'run.json'), dict(
            tag=run.tag, key=run.key, kind=run.kind, commands=run.commands,
            seed=run.seed, split=run.split, scale=run.scale,
            options={k: v for k, v in run.options.items()}))
        threads = self.s.cores if run.kind == 'timing' else self.s.threads
        t0 = time.time()
        self.say(f'  [{run.tag}] started ({threads} thread{"s" * (threads > 1)})')

        def progress(p):
            where = (f'epoch {p["epoch"]}/{run.length} ' if p['epoch'] is not None
                     else '')
            self.say(f'  [{run.tag}] {where}iter {p["iter"]}/{p["iters"]}  loss '
                     f'{p["loss"]:.4f}  ({time.time() - t0:.0f} s)  | {self.eta_text()}')

        code, secs, rss = self.runner(run, self._env(threads), progress)
        try:
            with open(run.log) as f:
                text = f.read()
        except OSError:
            text = ''
        if code != 0:
            return self._fail(run, code, f'exit code {code}')
        res = dict(key=run.key, stamp=uuid.uuid4().hex, tag=run.tag, kind=run.kind,
                   row=run.row, seed=run.seed, split=run.split, scale=run.scale,
                   seconds=round(secs, 1), log=run.log,
                   finished=time.strftime('%Y-%m-%dT%H:%M:%S'))
        if run.kind == 'timing':
            try:
                with open(osp.join(run.dir, 'timing.json')) as f:
                    res['timing'] = json.load(f)
            except (OSError, ValueError):
                return self._fail(run, code, 'no timing.json')
        else:
            found = self.task.read_metrics(text, run.dir)
            if not found or found.get('value') is None:
                return self._fail(run, code, 'no evaluation result in the log')
            res.update(value=found['value'], extra=found.get('extra', {}),
                       per_class=found.get('per_class'))
        gpu = [int(m) for m in GPU_MEM.findall(text)]
        res.update(peak_mem_mb=float(max(gpu)) if gpu else round(rss, 1),
                   peak_mem_kind='gpu_max_allocated' if gpu else 'process_max_rss')
        if run.checkpoint:
            if run.keep_checkpoint and not osp.isfile(run.checkpoint):
                return self._fail(run, code, f'no checkpoint {run.checkpoint}')
            res['checkpoint'] = run.checkpoint
            if not run.keep_checkpoint:
                for name in os.listdir(run.dir):
                    if name.endswith('.pth'):
                        os.remove(osp.join(run.dir, name))
        write_json(run.result_file, res)
        self.say(f'  [{run.tag}] done in {secs:.0f} s'
                 + (f': {self.task.metric} {res["value"]:.4f}' if 'value' in res else ''))
        return 'done', res

    def _fail(self, run, code, reason):
        failure = dict(key=run.key, tag=run.tag, returncode=code, log=run.log,
                       reason=reason)
        write_json(osp.join(run.dir, 'failed.json'), failure)
        self.say(f'  [{run.tag}] FAILED ({reason}); log: {run.log}')
        return 'failed', failure

    def eta_text(self):
        seconds, at = self.eta
        if seconds is None:
            return f'{self.task.name}: ETA unknown'
        return f'{self.task.name} ETA {fmt_duration(seconds - (time.time() - at))}'

    def estimate(self, plan):
        """Seconds left: for each kind of run, those still to do x the mean duration of
        the finished ones of that kind (else of all, else the spec's guess), / jobs."""
        every = [d for v in plan.durations.values() for d in v]
        total = 0.0
        for role, n in plan.remaining().items():
            known = plan.durations.get(role) or every
            each = statistics.fmean(known) if known else self.task.minutes_per_run * 60
            total += n * each
        return total / self.s.jobs

    def discard(self, names):
        """--rerun: remove the cached runs of these rows (every scale and seed)."""
        plan = self.collect()
        gone = 0
        for name in names:
            runs = []
            if name == 'teacher':
                for t in self.task.teachers:
                    runs += self._teacher_runs(plan, t)
            else:
                row = self.task.row(name)
                state = plan.rows[name]
                if row.distilling and state.start is not None:
                    runs += self._all_row_runs(plan, row, state)
                runs += [r['_run'] for r in state.seeds.values() if '_run' in r]
                if row.derived_from:
                    runs += [r for r in plan.cached if r.row == name]
            for run in runs:
                if osp.isdir(run.dir):
                    shutil.rmtree(run.dir)
                    gone += 1
        self._memo.clear()
        self.say(f'[{self.task.name}] --rerun {" ".join(names)}: {gone} cached run(s) '
                 'removed')

    def _teacher_runs(self, plan, t):
        opts = dict(self.task.base_options(self.root), **t.options)
        split = 'val' if t.select_on_val else 'test'
        seeds = list(self.s.seeds) if t.report_seeds else [self.s.seeds[0]]
        return [self.train_run('teacher', '', t.config, opts, seed, split, t.schedule,
                               row='teacher', keep_checkpoint=True) for seed in seeds]

    def _all_row_runs(self, plan, row, state):
        ckpts, deps, _ = self._teacher_inputs(plan, row)
        schedule = row.schedule or self.task.schedule
        runs = []
        for scale, seed in itertools.product(self.s.scales, [TUNING_SEED, *self.s.seeds]):
            opts = row_options(self.task, row, Ctx(self.root, seed, self.s.scale))
            opts.update({k: v * scale for k, v in state.start.items()})
            opts.update(ckpts)
            split = 'val' if seed == TUNING_SEED else 'test'
            runs.append(self.train_run('seed', '', state.config, opts, seed, split,
                                       schedule, deps, row.name, scale))
        return runs

    def execute(self):
        """Make the data, run everything missing (``--jobs`` at a time), return the final
        plan. Safe to kill at any moment: the next call resumes."""
        self.make_data()
        if self.s.rerun:
            self.discard(self.s.rerun)
        futures = {}
        pool = ThreadPoolExecutor(max_workers=self.s.jobs)
        plan = self.collect()
        try:
            while True:
                self.eta = (self.estimate(plan), time.time())
                for run in plan.todo:
                    if len(futures) >= self.s.jobs or (run.kind == 'timing' and futures):
                        break
                    self.inflight[run.key] = run
                    futures[pool.submit(self._execute, run)] = run
                    if run.kind == 'timing':
                        break
                if not futures:
                    break
                done, _ = wait(list(futures), return_when=FIRST_COMPLETED)
                for fut in done:
                    run = futures.pop(fut)
                    del self.inflight[run.key]
                    try:
                        status, payload = fut.result()
                    except Exception as e:  # noqa: BLE001 - keep the other runs going
                        status, payload = 'failed', dict(
                            key=run.key, tag=run.tag, returncode=None, log=run.log,
                            reason=f'engine error: {e!r}')
                    (self.done_now if status == 'done' else self.failed_now)[run.key] = \
                        payload
                plan = self.collect()
                self.eta = (self.estimate(plan), time.time())
                left = sum(plan.remaining().values())
                self.say(f'[{self.task.name}] {plan.done} run(s) done, {left} to go, '
                         f'{len(self.failed_now)} failed  | {self.eta_text()}')
        except BaseException:
            stop = getattr(self.runner, 'stop', None)
            if stop is not None:
                stop()
            raise
        finally:
            pool.shutdown(wait=True)
        return plan

    def plan_only(self):
        """--plan: what is cached, what is to do, the estimated time; runs nothing."""
        if self.data_meta() is None:
            self.meta_sha = '(no data yet)'
            self.say(f'[{self.task.name}] data {self.root} not made yet: every run is to do')
        plan = self.collect()
        lines = [f'[{self.task.name}] plan ({len(plan.cached)} cached, {len(plan.todo)} to '
                 f'do now, {sum(plan.waiting.values())} after those)']
        for run in sorted(plan.cached + plan.todo, key=lambda r: ROLE_ORDER[r.role]):
            state = 'cached' if run in plan.cached else 'to do '
            lines.append(f'  {state}  {run.tag}')
        for row, what in plan.why:
            lines.append(f'  later   {self.task.name} {row}: after {what}')
        lines.append(f'  estimated time: {fmt_duration(self.estimate(plan))} with '
                     f'--jobs {self.s.jobs}')
        for line in lines:
            self.say(line)
        return plan


def choose_scale(vals):
    """The sweep scale with the best val score; ties: x1, then the smaller (then the
    other scales of a custom sweep, smaller first)."""
    best = max(vals.values())
    return next(s for s in scale_order(vals) if vals[s] == best)


@dataclass
class Results:
    """The finished plan as the checks and report.py read it."""
    task: Task
    settings: Settings
    plan: Plan
    meta: Optional[dict]

    @property
    def rows(self):
        return self.plan.rows

    def values(self, name):
        st = self.rows.get(name)
        return st.values() if st is not None else None

    def calibration(self):
        out, targets, met, notes = {}, {}, {}, {}
        for check in self.task.checks:
            try:
                value = check.value(self)
            except (KeyError, ValueError, TypeError, ZeroDivisionError):
                value = None
            if isinstance(value, tuple):
                value, notes[check.name] = value
            out[check.name] = round(value, 5) if isinstance(value, float) else value
            targets[check.name] = f'{check.op} {check.target}'
            met[check.name] = check.met(value)
        return dict(out, targets=targets, checks_met=met, notes=notes,
                    met=all(met.values()) if met else False)
