"""Segmentation distillation benchmark: M6 (boundary-aware multi-teacher) against the
no-KD student, single-teacher MMRazor CWD (with the best teacher) and an equal-weight
multi-teacher KD, on the toy medical segmentation data.

    python tools/benchmark/seg_kd.py                 # toy default, 2 CPU cores
    make bench-seg

One run, same data, teachers, schedule and seeds for every row:
1. makes the toy segmentation data (seeded: 400 train / 100 val images, 128 px),
2. trains both teachers (UNet-32 and DeepLabV3-R18) or reuses the cached ones,
3. trains the student (UNet-8) without KD, with MMRazor CWD from the best teacher (by
   val mIoU), with equal-weight two-teacher pixel KD and with M6, once per seed,
4. measures seconds per training iteration and peak memory of every row,
5. writes ``benchmarks/results/segmentation-<dataset>-<machine>.json``
   (../shared/BENCHMARKS.md), a markdown table and a plot under ``benchmarks/``, and
   embeds the table in configs/multi_teacher/README.md.

Metrics: mIoU and mDice (mmseg's IoUMetric) and the boundary F-score within 2 px
(kd_plugins' BoundaryFScore), all on the toy val split, as fractions.
Finished runs are kept (``<work-dir>/runs/<row>-i<iters>-s<seed>/result.json``): an
interrupted benchmark resumes; ``--fresh`` starts over.
"""
import argparse
import datetime
import os
import os.path as osp
import re
import shutil
import sys

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
from _jobs import ROOT, log, run  # noqa: E402
from cls_kd import common_arguments, finish_table  # noqa: E402
from cls_kd import logged_seconds_per_iter, parse_checked, run_all  # noqa: E402
from cls_kd import publish as cls_publish  # noqa: E402
from det_kd import command_line, mean_std, train_once  # noqa: E402

TEACHERS = {
    'unet-c32': 'configs/segmentors/unet-c32_toy-seg.py',
    'deeplabv3-r18-d8': 'configs/segmentors/deeplabv3-r18-d8_toy-seg.py',
}
STUDENT = 'configs/segmentors/unet-c8_toy-seg.py'
# the M6 configs' teacher names
TEACHER_KEYS = {'unet-c32': 'unet', 'deeplabv3-r18-d8': 'dlv3'}
# MMRazor CWD with one teacher: the config of each possible best teacher
CWD = {'unet-c32': 'configs/mmrazor_cwd/cwd_logits_unet-c32_unet-c8_toy-seg.py'}
PAIR = 'unet-c32_deeplabv3-r18_unet-c8_toy-seg.py'
# row name -> (config, how it takes teacher checkpoints: None, 'single' or 'multi')
ROWS = {
    'student': (STUDENT, None),
    'mmrazor:cwd': (None, 'single'),  # config: CWD[best teacher]
    'baseline:equal-weight-multi-teacher': (
        f'configs/multi_teacher/equal-weight_{PAIR}', 'multi'),
    'M6': (f'configs/multi_teacher/m6_{PAIR}', 'multi'),
}
README = 'configs/multi_teacher'
MIOU_TARGET = 0.02  # M6 >= no-KD + 2.0 mIoU points, and best mIoU and boundary F
METRICS = re.compile(r'Iter\(val\).*?mIoU: ([0-9.]+).*?mDice: ([0-9.]+).*?bF: ([0-9.]+)')


def seg_metrics(text):
    """``{miou, dice, boundary_f}`` (fractions) of a log's last evaluation, or None."""
    found = METRICS.findall(text)
    if not found:
        return None
    miou, dice, bf = (float(v) / 100 for v in found[-1])
    return dict(miou=miou, dice=dice, boundary_f=bf)


def data_options(root, batch_size, workers=1):
    root = root.rstrip('/') + '/'
    opts = [f'{s}_dataloader.dataset.data_root={root}' for s in ('train', 'val', 'test')]
    opts += [f'{s}_dataloader.num_workers={workers}' for s in ('train', 'val', 'test')]
    return opts + [f'train_dataloader.batch_size={batch_size}',
                   'default_hooks.logger.interval=25']


def schedule(iters, seed):
    """--cfg-options of the toy seg schedule cut to ``iters`` (poly decay to the end),
    one validation and one checkpoint at the end."""
    return [f'train_cfg.max_iters={iters}', f'train_cfg.val_interval={iters}',
            f'param_scheduler.1.end={iters}', f'default_hooks.checkpoint.interval={iters}',
            f'randomness.seed={seed}']


def make_toy_seg(work):
    root = 'data/toy_seg_bench'
    run([sys.executable, 'tools/make_toy_data.py', 'seg', '--out', root],
        osp.join(work, 'data.log'), 'data')
    return 'toy-seg', root


def train_teachers(args, work, opts):
    jobs = [lambda n=n, c=c: train_once(
        f'teacher {n}', c, osp.join(work, f'teacher-{n}-i{args.teacher_iters}'), None, 0,
        opts, iters=args.teacher_iters, metrics=seg_metrics,
        schedule=schedule(args.teacher_iters, 0)) for n, c in TEACHERS.items()]
    return dict(zip(TEACHERS, run_all(args, jobs)))


def row_config(name, best):
    cfg, _ = ROWS[name]
    if name == 'mmrazor:cwd':
        if best not in CWD:
            raise SystemExit(f'the best teacher is {best}; the benchmark has a CWD config '
                             f'for {sorted(CWD)} only (add one to CWD)')
        return CWD[best]
    return cfg


def teacher_options(name, teachers, best):
    """--cfg-options that give row ``name`` its teacher checkpoint(s)."""
    kind = ROWS[name][1]
    if kind == 'single':
        return [f'model.teacher_ckpt={teachers[best]["checkpoint"]}']
    if kind == 'multi':
        return [f'model.teachers.{TEACHER_KEYS[n]}.ckpt_path={t["checkpoint"]}'
                for n, t in teachers.items()]
    return []


def run_dir(work, name, seed, iters):
    return osp.join(work, 'runs', f'{name.replace(":", "_")}-i{iters}-s{seed}')


def student_runs(args, work, opts, teachers, best, rows=tuple(ROWS)):
    jobs, names = [], []
    for name in rows:
        for seed in args.seeds:
            names.append(name)
            jobs.append(lambda name=name, seed=seed: train_once(
                f'{name} s{seed}', row_config(name, best),
                run_dir(work, name, seed, args.iters),
                None, seed, opts + teacher_options(name, teachers, best),
                fresh=args.fresh, iters=args.iters, metrics=seg_metrics,
                schedule=schedule(args.iters, seed)))
    runs = {}
    for name, res in zip(names, run_all(args, jobs)):
        runs.setdefault(name, []).append(res)
    return runs


def timing(args, work, opts, teachers, best):
    """Seconds per training iteration of every row, each trained alone (all cores) for
    ``--timing-iters`` logged iterations: the full runs share the cores."""
    secs = {}
    for name in ROWS:
        out = osp.join(work, 'timing', name.replace(':', '_'))
        shutil.rmtree(out, ignore_errors=True)
        os.makedirs(out)
        n = args.timing_iters
        run([sys.executable, 'tools/train.py', row_config(name, best), '--work-dir', out,
             '--cfg-options', *opts, *teacher_options(name, teachers, best),
             f'train_cfg.max_iters={n}', f'train_cfg.val_interval={n + 1}',
             f'default_hooks.checkpoint.interval={n + 1}',
             'default_hooks.logger.interval=5'], osp.join(out, 'train.log'),
            f'timing {name}')
        secs[name] = logged_seconds_per_iter(out)
    return secs


def stat_row(name, results, reference=None):
    per = [r['miou'] for r in results]
    m, s = mean_std(per)
    extra = dict(train_seconds_per_seed=[r['train_seconds'] for r in results])
    for key in ('dice', 'boundary_f'):
        vals = [r[key] for r in results]
        mk, sk = mean_std(vals)
        extra.update({key: round(mk, 5), f'{key}_std': round(sk, 5),
                      f'{key}_per_seed': vals})
    if reference is not None:
        extra['delta_miou_vs_student'] = round(m - reference['mean'], 5)
        extra['delta_boundary_f_vs_student'] = round(
            extra['boundary_f'] - reference['extra']['boundary_f'], 5)
    return dict(name=name, per_seed=per, mean=round(m, 5), std=round(s, 5),
                peak_mem_mb=max(r['peak_mem_mb'] for r in results), extra=extra)


def make_rows(teachers, best, runs, secs):
    t = teachers[best]
    rows = [dict(name='teacher', per_seed=[t['miou']], mean=t['miou'], std=0.0,
                 peak_mem_mb=t['peak_mem_mb'],
                 extra=dict(config=TEACHERS[best], dice=t['dice'],
                            boundary_f=t['boundary_f'], seeds_trained=[0],
                            other_teachers={n: dict(config=TEACHERS[n], miou=o['miou'],
                                                    dice=o['dice'],
                                                    boundary_f=o['boundary_f'])
                                            for n, o in teachers.items() if n != best}))]
    student = stat_row('student', runs['student'])
    student['extra']['seconds_per_iter'] = round(secs['student'], 4)
    rows.append(student)
    for name in ROWS:
        if name == 'student':
            continue
        row = stat_row(name, runs[name], student)
        row['time_per_iter_ratio'] = round(secs[name] / secs['student'], 3)
        row['extra']['seconds_per_iter'] = round(secs[name], 4)
        rows.append(row)
    return rows


def verdicts(rows):
    by = {r['name']: r for r in rows if r['name'] not in ('teacher', )}
    others = [n for n in by if n != 'M6']
    best_miou = max(others, key=lambda n: by[n]['mean'])
    best_bf = max(others, key=lambda n: by[n]['extra']['boundary_f'])
    d = by['M6']['mean'] - by['student']['mean']
    m6_bf = by['M6']['extra']['boundary_f']
    return [
        ('M6 has the best mIoU of the four rows', by['M6']['mean'] > by[best_miou]['mean'],
         f'M6 {100 * by["M6"]["mean"]:.2f} vs {best_miou} '
         f'{100 * by[best_miou]["mean"]:.2f}'),
        ('M6 has the best boundary F of the four rows',
         m6_bf > by[best_bf]['extra']['boundary_f'],
         f'M6 {100 * m6_bf:.2f} vs {best_bf} '
         f'{100 * by[best_bf]["extra"]["boundary_f"]:.2f}'),
        (f'M6 >= no-KD + {100 * MIOU_TARGET:.1f} mIoU', d >= MIOU_TARGET - 1e-9,
         f'{100 * d:+.2f} points'),
    ]


def pct(mean, std=None):
    return f'{100 * mean:.2f}' + ('' if std is None else f' ± {100 * std:.2f}')


def markdown(title, meta, rows, checks, notes):
    lines = [title, '', f'Command: `{meta["command"]}`', '',
             '| row | mIoU (mean ± std) | per seed | Δ mIoU vs no-KD | mDice | '
             'boundary F (2 px) | s/iter | time/iter vs no-KD | peak mem (MB) |',
             '|---|---:|---|---:|---:|---:|---:|---:|---:|']
    for r in rows:
        e = r['extra']
        delta = e.get('delta_miou_vs_student')
        lines.append(
            f'| {r["name"]} | {pct(r["mean"], r["std"])} | '
            f'{", ".join(f"{100 * v:.1f}" for v in r["per_seed"])} | '
            f'{"" if delta is None else f"{100 * delta:+.2f} pt"} | '
            f'{pct(e["dice"], e.get("dice_std"))} | '
            f'{pct(e["boundary_f"], e.get("boundary_f_std"))} | '
            f'{e.get("seconds_per_iter", "")} | {r.get("time_per_iter_ratio", "")} | '
            f'{r["peak_mem_mb"]:.0f} |')
    return finish_table(lines, notes, checks)


def publish(args, meta, rows, checks, settings, table):
    cls_publish(args, 'segmentation', meta, rows, checks, settings, table, [README],
                metric=('mIoU', 'mIoU'), ours=('M6', ))


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--part', choices=('all', 'teachers', 'students'), default='all',
                   help="'teachers': train only the teachers; 'students': the teachers "
                   'and the no-KD students (the checkpoints grad_balance.py needs)')
    p.add_argument('--iters', type=int, default=1000,
                   help='student iterations (default 1000: at 600, seed 1 left a class '
                   'unlearned in every row for 400+ iterations, see benchmarks/history/)')
    p.add_argument('--teacher-iters', type=int, default=1000,
                   help='teacher iterations (default 1000; cached)')
    p.add_argument('--batch-size', type=int, default=8)
    p.add_argument('--timing-iters', type=int, default=20,
                   help='iterations of the per-row timing runs (default 20)')
    common_arguments(p, 'work_dirs/benchmark/seg', readme="method's")
    return parse_checked(p, argv, ('iters', 'teacher_iters', 'batch_size',
                                   'timing_iters', 'jobs'))


def main(argv=None):
    args = parse_args(argv)
    os.chdir(ROOT)
    work = args.work_dir
    os.makedirs(work, exist_ok=True)
    meta = dict(command=command_line('seg_kd.py', argv),
                date=datetime.date.today().isoformat())
    log('[1/5] toy segmentation data')
    meta['dataset'], data_root = make_toy_seg(work)
    opts = data_options(data_root, args.batch_size)
    log(f'[2/5] teachers, {args.teacher_iters} iterations each (cached)')
    teachers = train_teachers(args, work, opts)
    for n, t in teachers.items():
        log(f'  teacher {n}: mIoU {t["miou"]:.4f} boundary F {t["boundary_f"]:.4f}')
    if args.part == 'teachers':
        return
    best = max(teachers, key=lambda n: teachers[n]['miou'])
    if args.part == 'students':
        student_runs(args, work, opts, teachers, best, rows=('student', ))
        return
    log(f'[3/5] students ({", ".join(ROWS)}), {args.iters} iterations, seeds {args.seeds};'
        f' CWD from the best teacher, {best}')
    runs = student_runs(args, work, opts, teachers, best)
    log(f'[4/5] time per iteration, each row alone for {args.timing_iters} iterations')
    secs = timing(args, work, opts, teachers, best)
    log('[5/5] tables')
    rows = make_rows(teachers, best, runs, secs)
    checks = verdicts(rows)
    notes = [f'{args.iters} iterations per student (batch {args.batch_size}), teachers '
             f'{args.teacher_iters} iterations; the teacher row is the best teacher '
             f'({best}, by val mIoU; the CWD row distils from it), the other teacher in '
             'the JSON (rows[0].extra.other_teachers): ' + ', '.join(
                 f'{n} mIoU {pct(t["miou"])}, boundary F {pct(t["boundary_f"])}'
                 for n, t in teachers.items() if n != best) + '. '
             'mIoU / mDice: mmseg IoUMetric; boundary F: kd_plugins BoundaryFScore '
             '(tolerance 2 px, mean over classes). s/iter: each row trained alone for '
             f'{args.timing_iters} iterations, median logged iteration time. Peak memory: '
             f'{teachers[best]["peak_mem_kind"]} of the training runs.']
    title = (f'Segmentation distillation (M6) on {meta["dataset"]} ({args.machine}, '
             f'{meta["date"]}): student mIoU over seeds {args.seeds}.')
    table = markdown(title, meta, rows, checks, notes)
    settings = dict(iters=args.iters, teacher_iters=args.teacher_iters,
                    batch_size=args.batch_size, best_teacher=best, teachers=TEACHERS,
                    configs={n: row_config(n, best) for n in ROWS})
    publish(args, meta, rows, checks, settings, table)


if __name__ == '__main__':
    main()
