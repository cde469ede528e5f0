"""Which method for my pair? Compare distillation methods on the user's own teacher,
student and data (issue 22): the command line of ``tools/compare.py``.

    python tools/compare.py --student S.py --teacher T.py --teacher-ckpt T.pth \
        --methods M4,cwd,pkd --iters 2000 [--work-dir work_dirs/compare] [--jobs 2] \
        [--sweep 0.25 1 4] [--seeds 0 1 2] [--cfg-options k=v ...]
    python tools/compare.py ... --launcher pytorch --gpus 4     # each run on 4 GPUs
    mim run kd_plugins compare --student S.py ...

1. The student and teacher configs (local files or ``package::path``) get
   ``--cfg-options`` (``--teacher-cfg-options`` for the teacher when given) and are
   written whole to ``<work-dir>/configs/student.py`` / ``teacher.py``: e.g. a codebase's
   own config shrunk to your data with options only. Each method's config is written by
   the config writer from them (kd_plugins/autowire: probe, pair, connectors; kd_plugins'
   methods' loss weights by the project rule on two batches of the student's data,
   MMRazor's at their published weights) into ``<work-dir>/configs/``.
2. The comparison is a protocol-v2 task (spec.py) run by the one engine (engine.py):
   the no-KD student and every method train for the same ``--iters`` (iteration loop,
   linear warm-up over the first tenth, then cosine decay; the user's optimizer), each
   method's loss weights are swept (``--sweep``, x0.25 / x1 / x4 by default) on the val
   split with seed 100, the best scale trains on ``--seeds``, scored on the config's
   ``test_dataloader``; the teacher checkpoint is scored once; one interleaved timing
   process measures the cost per iteration. Every run is cached under ``--work-dir``:
   kill the command at any moment and run it again to resume.
3. The result: a ranked table (mean ± std over the seeds, the paired difference to the
   no-KD student, the val score at the chosen scale, time per iteration, peak memory),
   ``compare.json``, ``compare.md``, ``compare.png`` under ``--work-dir``, and a
   recommendation with its config (``configs/<method>_chosen.py``: the chosen weights).

Bad input fails before any training, naming the argument: a method name that does not
exist, a student and teacher of different tasks, a teacher checkpoint that does not fit,
a student config without a val split, ``--iters`` below what one sweep needs.
Exit status: 0 when every run finished, 1 when one failed, 2 for bad input.
"""
import argparse
import copy
import json
import os
import os.path as osp
import shlex
import signal
import sys
import threading

from .cli import stop
from .engine import Bench, Results, Settings, SubprocessRunner, fmt_scale, lock_work_dir
from .jobs import ROOT, log, write_json, write_text
from .report import document, plot
from .spec import (REPORT_SEEDS, SCALES, TUNING_SEED, Data, Row, Schedule, SpecError, Task,
                   Teacher, file_stamp, last_eval, seeds_problem, sha256, validate)

# the metric of each task: (Task.metric, log keys tried in order, divisor to a fraction)
TASK_METRICS = {
    'detection': ('bbox_mAP', ('coco/bbox_mAP', 'pascal_voc/mAP'), 1),
    'segmentation': ('mIoU', ('mIoU', ), 100),
    'classification': ('top1', ('accuracy/top1', ), 100),
    'retrieval': ('R@1', ('retrieval/R@1', ), 100),
}
MIN_ITERS = 50  # a tenth is the LR warm-up; below this a run is mostly warm-up
TEACHER_OPTION = 'model.teacher_ckpt'


class CompareError(ValueError):
    """Bad input to compare; the message names the argument."""


def row_name(method):
    """The table row of a method: kd_plugins' ``M4``, MMRazor's ``mmrazor:cwd``."""
    return method if method.startswith('M') else f'mmrazor:{method}'


def schedule_options(iters):
    """The same short schedule for every run: ``iters`` iterations, linear warm-up over
    the first tenth, cosine decay to 0 after it, one evaluation and checkpoint at the
    end (the user's optimizer and learning rate stay)."""
    warm = max(1, iters // 10)
    return {
        'train_cfg': dict(_delete_=True, type='IterBasedTrainLoop', max_iters=iters,
                          val_interval=iters),
        'param_scheduler': [
            dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=warm),
            dict(type='CosineAnnealingLR', by_epoch=False, begin=warm, end=iters,
                 T_max=iters - warm, eta_min=0.0)],
        'default_hooks.checkpoint.by_epoch': False,
        'default_hooks.checkpoint.max_keep_ckpts': 1,
        'default_hooks.logger.interval': max(1, min(50, iters // 10)),
        'log_processor.by_epoch': False,
    }


def read_metric(task_kind):
    """``read_metrics(text, run_dir)`` for the engine: the task's metric of the last
    evaluation line, as a fraction."""
    _, keys, div = TASK_METRICS[task_kind]

    def read(text, run_dir):
        found = last_eval(text)
        for key in keys:
            if found and key in found:
                return dict(value=found[key] / div, extra={})
        return None
    return read


def _loader_dict(value):
    return copy.deepcopy(value.to_dict() if hasattr(value, 'to_dict') else value)


def check_val_split(cfg, argument='student'):
    """The student's config has a val loop: val_dataloader, val_evaluator, val_cfg."""
    missing = [k for k in ('val_dataloader', 'val_evaluator', 'val_cfg')
               if cfg.get(k) is None]
    if missing:
        raise CompareError(
            f'{argument}: the config has no val split ({", ".join(missing)} missing or '
            'None); compare chooses each method\'s loss weights on val: add a '
            'val_dataloader / val_evaluator / val_cfg on held-out data')


def check_val_data(cfg, argument='student'):
    """The val dataset builds and is not empty."""
    from kd_plugins.autowire.balance import build_loader
    try:
        size = len(build_loader(cfg, 'val').dataset)
    except Exception as err:  # noqa: BLE001 - the user's dataset, any error
        raise CompareError(f'{argument}: its val_dataloader does not build '
                           f'({type(err).__name__}: {err}); compare chooses weights '
                           'on val') from None
    if size == 0:
        raise CompareError(f'{argument}: its val_dataloader has no samples; compare '
                           'chooses weights on val')


def warmups(tree, prefix=''):
    """``{dotted key: value}`` of every ``*warmup_iters`` number in a config tree."""
    out = {}
    if isinstance(tree, dict):
        for k, v in tree.items():
            key = f'{prefix}{k}'
            if str(k).endswith('warmup_iters') and isinstance(v, int):
                out[key] = v
            out.update(warmups(v, f'{key}.'))
    elif isinstance(tree, (list, tuple)):
        for i, v in enumerate(tree):
            out.update(warmups(v, f'{prefix}{i}.'))
    return out


def check_iters(iters, configs):
    """``iters`` must cover MIN_ITERS and twice every method's own warm-up."""
    from mmengine.config import Config
    need, why = MIN_ITERS, (f'each run is evaluated once at its end and a tenth is the '
                            f'learning-rate warm-up; at least {MIN_ITERS}')
    for method, path in configs.items():
        for key, value in warmups(Config.fromfile(path).to_dict()).items():
            if 2 * value > need:
                need, why = 2 * value, f'{method}\'s {key} is {value} iterations; a run ' \
                    f'needs twice that, {2 * value}'
    if iters < need:
        raise CompareError(f'--iters {iters} is below what one sweep needs: {why}')


def write_if_changed(path, text):
    """Write ``text`` to ``path`` unless it holds that already."""
    os.makedirs(osp.dirname(path), exist_ok=True)
    if not osp.isfile(path) or open(path).read() != text:
        write_text(path, text)
    return path


def materialize(cfg, out):
    """Write ``cfg`` (options applied) whole to ``out``."""
    return write_if_changed(out, cfg.pretty_text)


def write_configs(args, work, student, teacher, say):
    """Write (or reuse: same inputs) each method's config from the materialized
    ``student`` / ``teacher`` configs; ``{method: path}``."""
    from kd_plugins.autowire import AutowireError
    from kd_plugins.autowire.writer import write_config
    folder = osp.join(work, 'configs')
    os.makedirs(folder, exist_ok=True)
    paths = {}
    for method in args.methods:
        path = osp.join(folder, f'{method}.py')
        stamp = sha256(dict(method=method, student=open(student).read(),
                            teacher=open(teacher).read(),
                            ckpt=file_stamp(args.teacher_ckpt),
                            input_size=args.input_size))
        stamp_file = path + '.stamp'
        if osp.isfile(path) and osp.isfile(stamp_file) and \
                open(stamp_file).read() == stamp:
            say(f'[compare] {method}: config {path} (written before, same inputs)')
        else:
            say(f'[compare] {method}: writing {path}')
            try:
                write_config(method, student, teacher, args.teacher_ckpt, out=path,
                             input_size=args.input_size)
            except AutowireError as err:
                raise CompareError(f'--methods {method}: {err}') from None
            write_text(stamp_file, stamp)
        paths[method] = path
    return paths


def build_task(args, work, configs, student_cfg, student_path, teacher_path, task_kind):
    metric = TASK_METRICS[task_kind][0]
    test_loader = _loader_dict(student_cfg.test_dataloader)
    test_eval = _loader_dict(student_cfg.test_evaluator)

    def split_options(root, split, loader):
        if split == 'val' or loader == 'test':
            return {}
        ev = dict(test_eval, _delete_=True) if isinstance(test_eval, dict) else test_eval
        return {'val_dataloader': dict(test_loader, _delete_=True), 'val_evaluator': ev}

    def base_options(root):  # the user's options are in the configs already
        return schedule_options(args.iters)

    schedule = Schedule(args.iters, 'iter', decay=1, decay_keys=(), smoke=2)
    rows = [Row('student', student_path)]
    for method, path in configs.items():
        rows.append(Row(row_name(method), path,
                        {'model.teachers.t0.ckpt_path' if method == 'M6' else
                         TEACHER_OPTION: 'teacher'}))
    data = Data(None, osp.join(work, 'data'))
    return Task(name='compare', task=task_kind, dataset='user-data', metric=metric,
                data=data, base_options=base_options, split_options=split_options,
                read_metrics=read_metric(task_kind),
                teachers=(Teacher('teacher', teacher_path, schedule,
                                  checkpoint=osp.abspath(args.teacher_ckpt)), ),
                schedule=schedule, rows=tuple(rows), timing_iters=12,
                minutes_per_run=5.0)


def describe_data(work, student_cfg, options):
    """``<work>/data/meta.json``: what the runs train and test on (its hash keys them)."""
    meta = dict(kind='user', options=options, **{
        k: _loader_dict(student_cfg.get(k)) for k in (
            'train_dataloader', 'val_dataloader', 'test_dataloader', 'val_evaluator',
            'test_evaluator')})
    write_if_changed(osp.join(work, 'data', 'meta.json'),
                     json.dumps(meta, sort_keys=True, default=repr, indent=1))
    return meta


def chosen_config(path, weights):
    """``<method>_chosen.py`` next to ``path``: it, with the chosen loss weights (dotted
    keys nested by mmengine's own option merge)."""
    from mmengine.config import Config
    out = osp.splitext(path)[0] + '_chosen.py'
    tree = Config()
    tree.merge_from_dict(weights)
    lines = [f'# {osp.basename(path)} with the loss weights compare chose on val',
             f"_base_ = ['./{osp.basename(path)}']"]
    lines += [f'{k} = {v!r}' for k, v in tree.to_dict().items()]
    write_text(out, '\n'.join(lines) + '\n')
    return out


def ranking(doc, configs, same_split):
    """The ranked markdown table and the recommendation (a dict)."""
    rows = {r['name']: r for r in doc['rows']}
    student = rows.get('student')
    metric = doc['metric']
    split = 'test_dataloader' + (' (= val_dataloader)' if same_split else '')
    s_iter = (doc['settings'].get('timing', {}).get('seconds_per_iter') or {}).get(
        'student')
    ranked = sorted((r for n, r in rows.items() if n != 'teacher'),
                    key=lambda r: -r['mean'])
    lines = [f'| rank | row | {metric} on {split} (mean ± std) | vs no-KD (paired, '
             f'mean ± se) | val at chosen scale | chosen | s / iter (x no-KD) | '
             f'peak memory (MB) |', '|---|---|---|---|---|---|---|---|']
    if 'teacher' in rows:
        t = rows['teacher']
        lines.append(f'| | teacher (given) | {t["mean"]:.4f} | | | | | |')
    for i, r in enumerate(ranked, 1):
        p = r.get('extra', {}).get('paired_vs_student')
        vs = '' if p is None else f'{p["mean"]:+.4f}' + (
            f' ± {p["se"]:.4f}' if p.get('se') is not None else '')
        chosen = r.get('chosen')
        val = ''
        if chosen:
            val = next((f'{s["val"]:.4f}' for s in r['sweep']
                        if s['scale'] == chosen['scale']), '')
        spi = r.get('extra', {}).get('seconds_per_iter') or (
            s_iter if r['name'] == 'student' else None)
        ratio = r.get('time_per_iter_ratio')
        cost = '' if spi is None else f'{spi:.3f}' + (f' ({ratio:.2f}x)' if ratio else '')
        lines.append(f'| {i} | {r["name"]} | {r["mean"]:.4f} ± {r["std"]:.4f} | {vs} | '
                     f'{val} | {fmt_scale(chosen["scale"]) if chosen else ""} | {cost} | '
                     f'{r.get("peak_mem_mb", "")} |')
    methods = [r for r in ranked if r.get('chosen')]
    beats = [r for r in methods if r['extra'].get('paired_vs_student', {}).get('beats')]
    best = (beats or methods or [None])[0]
    rec = dict(row=None, beats_student=False)
    if best is not None:
        method = next(m for m in configs if row_name(m) == best['name'])
        rec = dict(row=best['name'], method=method, config=configs[method],
                   chosen_config=chosen_config(configs[method],
                                               best['chosen']['loss_weights']),
                   scale=best['chosen']['scale'], beats_student=bool(beats),
                   paired_vs_student=best['extra'].get('paired_vs_student'))
    return '\n'.join(lines), rec


def recommendation_text(rec):
    if rec['row'] is None:
        return 'No method finished: nothing to recommend.'
    p = rec.get('paired_vs_student') or {}
    if rec['beats_student']:
        return (f'Recommended: {rec["row"]} ({p.get("mean", 0):+.4f} over the no-KD '
                f'student, paired over the seeds, more than its standard error). Train '
                f'it with: python tools/train.py {rec["chosen_config"]}')
    return (f'No method beat the no-KD student by more than the standard error of the '
            f'paired difference on these seeds; the best was {rec["row"]} '
            f'({p.get("mean", 0):+.4f}; config {rec["chosen_config"]}). Try more '
            f'--iters or seeds before choosing.')


def parse_args(argv):
    from mmengine.config import DictAction
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--student', required=True, help='student config (or pkg::path)')
    p.add_argument('--teacher', required=True, help='teacher config (or pkg::path)')
    p.add_argument('--teacher-ckpt', required=True, help='local teacher checkpoint')
    p.add_argument('--methods', required=True,
                   help='comma-separated: kd_plugins M1 M2 M4 M5 M6 M8 and MMRazor '
                   'cwd pkd mgd at dkd rkd, those of the pair\'s task')
    p.add_argument('--iters', type=int, required=True,
                   help='training iterations of every run (the same budget for all)')
    p.add_argument('--sweep', type=float, nargs='+', default=list(SCALES),
                   help='loss-weight scales tried on val (default 0.25 1 4; "1": none)')
    p.add_argument('--seeds', type=int, nargs='+', default=list(REPORT_SEEDS),
                   help='seeds of the reported runs (default 0 1 2)')
    p.add_argument('--jobs', type=int, default=1, help='runs at a time (default 1)')
    p.add_argument('--work-dir', default='work_dirs/compare',
                   help='configs, runs (the cache) and the result files')
    p.add_argument('--machine', default='local', help='machine tag of the result')
    p.add_argument('--input-size', type=int, nargs=2, metavar=('H', 'W'),
                   help="probe batch size (default: the student's test pipeline)")
    p.add_argument('--launcher', choices=('none', 'pytorch'), default='none',
                   help='pytorch: each training run on --gpus processes '
                   '(torch.distributed.run)')
    p.add_argument('--gpus', type=int, default=1, help='processes per run with '
                   '--launcher pytorch')
    p.add_argument('--cfg-options', nargs='+', action=DictAction, default={},
                   help='options for the student config (and the teacher\'s unless '
                   '--teacher-cfg-options): data roots, class counts, sizes')
    p.add_argument('--teacher-cfg-options', nargs='+', action=DictAction, default=None,
                   help='options for the teacher config instead of --cfg-options')
    p.add_argument('--plan', action='store_true',
                   help='write the configs, print the runs and the estimated time')
    args = p.parse_args(argv)
    args.methods = [m.strip() for m in args.methods.split(',') if m.strip()]
    if not args.methods:
        p.error('--methods: name at least one method')
    if len(set(args.methods)) != len(args.methods):
        p.error(f'--methods: a method appears twice in {args.methods}')
    if seeds_problem(args.seeds):
        p.error(seeds_problem(args.seeds))
    if any(s <= 0 for s in args.sweep) or len(set(args.sweep)) != len(args.sweep):
        p.error(f'--sweep: distinct positive scales, got {args.sweep}')
    for flag in ('jobs', 'gpus'):
        if getattr(args, flag) < 1:
            p.error(f'--{flag} must be >= 1')
    return p, args


def check_inputs(args):
    """Everything that can be checked before writing or training (CompareError)."""
    from kd_plugins.autowire import AutowireError, load_config, task_of
    from kd_plugins.autowire.writer import all_methods, check_method, method_tasks
    for method in args.methods:
        try:
            check_method(method)
        except AutowireError as err:
            raise CompareError(f'--methods {method}: {err}') from None
    if not osp.isfile(args.teacher_ckpt):
        raise CompareError(f'--teacher-ckpt: checkpoint file {args.teacher_ckpt!r} not '
                           'found (a local file: nothing downloads)')
    try:
        s_cfg = load_config(args.student, 'student')
        t_cfg = load_config(args.teacher, 'teacher')
        kind, t_kind = task_of(s_cfg, 'student'), task_of(t_cfg, 'teacher')
    except AutowireError as err:
        raise CompareError(f'--{str(err).split(":")[0]}: {err}') from None
    t_opts = args.cfg_options if args.teacher_cfg_options is None else \
        args.teacher_cfg_options
    try:
        t_cfg.merge_from_dict(dict(t_opts))
    except (TypeError, KeyError, ValueError) as err:
        flag = '--cfg-options' if args.teacher_cfg_options is None else \
            '--teacher-cfg-options'
        raise CompareError(f'{flag}: they do not apply to the teacher config ({err})'
                           ) from None
    if kind != t_kind:
        raise CompareError(f'--student / --teacher: the student is a {kind} model and the '
                           f'teacher a {t_kind} one; distillation needs one task')
    wrong = [m for m in args.methods if kind not in method_tasks(m)]
    if wrong:
        fits = [m for m in all_methods() if kind in method_tasks(m)]
        raise CompareError(f'--methods: {wrong} do not serve {kind}; for {kind}: {fits}')
    check_val_split(s_cfg)
    try:
        s_cfg.merge_from_dict(dict(args.cfg_options))
    except (TypeError, KeyError, ValueError) as err:
        raise CompareError(f'--cfg-options: they do not apply to the student config '
                           f'({err})') from None
    check_val_split(s_cfg)
    if args.iters < MIN_ITERS:
        raise CompareError(f'--iters {args.iters} is below what one sweep needs: at least '
                           f'{MIN_ITERS} (each run is evaluated once at its end and a '
                           'tenth is the learning-rate warm-up)')
    check_val_data(s_cfg)
    return s_cfg, t_cfg, kind


def main(argv=None, runner=None, say=log):
    parser, args = parse_args(argv)
    os.chdir(ROOT)
    import kd_plugins  # noqa: F401 - registers the datasets and models the checks build
    work = osp.abspath(args.work_dir)
    try:
        s_cfg, t_cfg, kind = check_inputs(args)
        student_path = materialize(s_cfg, osp.join(work, 'configs', 'student.py'))
        teacher_path = materialize(t_cfg, osp.join(work, 'configs', 'teacher.py'))
        configs = write_configs(args, work, student_path, teacher_path, say)
        check_iters(args.iters, configs)
    except CompareError as err:
        parser.exit(2, f'{parser.prog}: error: {err}\n')
    describe_data(work, s_cfg, args.cfg_options)
    task = build_task(args, work, configs, s_cfg, student_path, teacher_path, kind)
    try:
        validate(task)
    except SpecError as err:
        parser.exit(2, f'{parser.prog}: error: {err}\n')
    launch, extra = (), ()
    if args.launcher == 'pytorch':
        launch = ('-m', 'torch.distributed.run', '--standalone',
                  f'--nproc_per_node={args.gpus}')
        extra = ('--launcher', 'pytorch')
    settings = Settings(
        machine=args.machine, jobs=args.jobs, seeds=tuple(args.seeds),
        work_dir=work, out=work, embed=False, scales=tuple(args.sweep),
        train_launch=launch, train_args=extra,
        command=' '.join(['python', 'tools/compare.py',
                          *(shlex.quote(a) for a in (argv or sys.argv[1:]))]))
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, stop)
    fds = [] if args.plan else lock_work_dir(work, ['compare'])
    try:
        bench = Bench(task, settings, runner or SubprocessRunner(pass_fds=fds), say=say)
        if args.plan:
            bench.plan_only()
            return 0
        plan = bench.execute()
    finally:
        for fd in fds:
            os.close(fd)
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    return publish(Results(task, settings, plan, bench.meta), configs, s_cfg, say)


def publish(results, configs, s_cfg, say=log):
    """Write compare.json / .md / .png under the work dir and print the table."""
    doc = document(results)
    work = results.settings.work_dir
    same = _loader_dict(s_cfg.val_dataloader) == _loader_dict(s_cfg.test_dataloader)
    table, rec = ranking(doc, configs, same)
    seconds = [x for r in results.plan.rows.values() for res in
               list(r.sweep.values()) + list(r.seeds.values())
               for x in [res.get('seconds')] if x]
    doc.update(kind='compare', recommendation=rec, test_is_val=same,
               run_seconds=round(sum(seconds), 1))
    write_json(osp.join(work, 'compare.json'), doc)
    text = recommendation_text(rec)
    note = ('The reported runs are scored on the student config\'s test_dataloader, '
            + ('which is its val_dataloader: the weights were chosen on the same images '
               '(optimistic; hold out a test split to be sure).' if same else
               'held out from the val split the weights were chosen on.'))
    md = (f'# Distillation methods compared on your pair\n\n{results.settings.command}\n\n'
          f'{table}\n\n{text}\n\n{note}\n\nSweep: loss weights x'
          f'{" / x".join(f"{s:g}" for s in results.settings.scales)} on val, seed '
          f'{TUNING_SEED}; reported seeds {list(results.settings.seeds)}; every run '
          f'{results.task.schedule.describe(results.task.schedule.length)}. Machine '
          f'{results.settings.machine}: {results.settings.jobs} run(s) at a time, '
          f'{results.settings.threads} thread(s) each; the training runs took '
          f'{sum(seconds) / 60:.1f} min added up.\n')
    write_text(osp.join(work, 'compare.md'), md)
    if doc['rows']:
        try:
            plot(osp.join(work, 'compare.png'), dict(doc, dataset='your data'))
        except Exception as err:  # noqa: BLE001 - a plot is not worth failing for
            say(f'[compare] no plot: {err}')
    say(table)
    say(text)
    say(note)
    say(f'[compare] wrote {osp.join(work, "compare.md")}, compare.json, compare.png')
    failed = doc['failed'] or [n for n, st in results.plan.rows.items()
                               if st.selected and not st.complete]
    return 1 if failed else 0


__all__ = ['CompareError', 'TASK_METRICS', 'build_task', 'main', 'ranking',
           'schedule_options']
