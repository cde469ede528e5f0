"""Classification distillation benchmark: M5 against vanilla KD, MMRazor AT and CWD; M7
(data-free) against MMRazor DAFL and DFAD.

    python tools/benchmark/cls_kd.py                  # toy default, 2 CPU cores
    python tools/benchmark/cls_kd.py --part m5        # only the M5 table

One run, same data, teacher, schedule and seeds for every row of a table:
1. makes the toy classification data (seeded; ``--scale N``: N times the images),
2. trains the teacher (WRN-16-2) or reuses the cached one,
3. M5 table: the student (resnet8) without KD, with vanilla KD, MMRazor AT, MMRazor CWD
   and M5, once per seed (``--epochs``), top-1 on the toy val split; per-iteration cost
   measured in one process (tools/benchmark/iter_timing.py),
4. M7 table: data-free students (no real training image is read: the configs train on
   generated samples; the val split only evaluates) with M7, MMRazor DAFL and DFAD
   (MMRazor's algorithms run single-process through compat fix 4), once per seed;
   seconds per iteration from the training logs,
5. writes ``benchmarks/results/{classification,data-free}-<dataset>-<machine>.json``
   (../shared/BENCHMARKS.md), markdown tables and plots under ``benchmarks/``, and embeds
   the tables in the methods' READMEs.

Training runs go ``--jobs`` at a time (default 2, one thread each: on 2 cores that beats
one run with 2 threads for these small networks); the timing step runs alone.
Finished runs are kept (``<work-dir>/runs/<row>-s<seed>/result.json``): an interrupted
benchmark resumes where it stopped; ``--fresh`` starts over.
"""
import argparse
import datetime
import os
import os.path as osp
import re
import shutil
import statistics
import sys
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
from _jobs import ROOT, log, run  # noqa: E402
from det_kd import (check_seeds, command_line, embed, measure_timing,  # noqa: E402
                    mean_std, plot, train_once, write_json)

TEACHER = 'configs/classifiers/wrn-16-2_toy-cls.py'
STUDENT = 'configs/classifiers/resnet8_toy-cls.py'
PAIR = 'wrn-16-2_resnet8_toy-cls.py'
# row name -> (config, README folder that embeds the table or None)
M5_ROWS = {
    'student': (STUDENT, None),
    'baseline:kd': (f'configs/mmrazor_kd/kd_logits_{PAIR}', None),
    'mmrazor:at': (f'configs/mmrazor_at/at_stages_{PAIR}', None),
    'mmrazor:cwd': (f'configs/mmrazor_cwd/cwd_stage2_{PAIR}', None),
    'M5': (f'configs/hybrid_attention/m5_{PAIR}', 'configs/hybrid_attention'),
}
# row name -> (config, README folder or None, option that sets the teacher checkpoint,
# training iterations per M7 iteration: the same student-step budget for every row)
M7_ROWS = {
    'M7': (f'configs/dual_generator/m7_{PAIR}', 'configs/dual_generator',
           'model.teacher_ckpt', 1),
    'mmrazor:dafl': (f'configs/mmrazor_dafl/dafl_{PAIR}', None,
                     'model.teachers.teacher.ckpt_path', 5),
    'mmrazor:dfad': (f'configs/mmrazor_dfad/dfad_{PAIR}', None,
                     'model.teachers.teacher.ckpt_path', 1),
}
STUDENT_ITER = 5  # M7 / DFAD student steps per iteration (their configs' student_iter)
M5_TARGET = 0.010  # M5 >= best of KD, AT, CWD + 1.0 top-1 point
M7_TARGET = 0.80  # M7 >= 80 % of the teacher's top-1, and above DAFL and DFAD
TOP1 = re.compile(r'accuracy/top1: ([0-9.]+)')
ITER_TIME = re.compile(r'\(train\).*?\stime: ([0-9.]+)')


def top1_metrics(text):
    """``{top1}`` (a fraction) of a training log's last evaluation, or None."""
    found = TOP1.findall(text)
    return None if not found else dict(top1=float(found[-1]) / 100)


def logged_seconds_per_iter(work):
    """Median of the per-iteration times a training log reports."""
    with open(osp.join(work, 'train.log')) as f:
        times = [float(t) for t in ITER_TIME.findall(f.read())]
    return statistics.median(times) if times else float('nan')


def data_options(root, batch_size, workers=1):
    root = root.rstrip('/') + '/'
    opts = [f'{s}_dataloader.dataset.data_root={root}' for s in ('train', 'val', 'test')]
    opts += [f'{s}_dataloader.num_workers={workers}' for s in ('train', 'val', 'test')]
    opts += ['default_hooks.checkpoint.max_keep_ckpts=1']
    return opts + [f'train_dataloader.batch_size={batch_size}']


def data_free_options(root, iters, seed, workers=1):
    """--cfg-options of a data-free run: ``iters`` iterations (cosine to the end), one
    validation at the end on ``root``'s val split; the training loader is the configs'
    placeholder (no images), left alone."""
    root = root.rstrip('/') + '/'
    opts = [f'{s}_dataloader.dataset.data_root={root}' for s in ('val', 'test')]
    opts += [f'{s}_dataloader.num_workers={workers}' for s in ('val', 'test')]
    return opts + [f'train_cfg.max_iters={iters}', f'train_cfg.val_interval={iters}',
                   f'param_scheduler.0.end={iters}', f'param_scheduler.0.T_max={iters}',
                   f'default_hooks.checkpoint.interval={iters}', f'randomness.seed={seed}']


def make_toy_cls(scale, work):
    dataset = 'toy-cls' if scale == 1 else f'toy-cls-x{scale}'
    data_root = 'data/toy_cls_bench' if scale == 1 else f'data/toy_cls_bench_x{scale}'
    run([sys.executable, 'tools/make_toy_data.py', 'cls', '--out', data_root,
         '--num-train', str(100 * scale), '--num-val',
         str(100 * scale)], osp.join(work, 'data.log'), 'data')
    return dataset, data_root


def run_all(args, jobs):
    """Run the training ``jobs`` (callables), ``args.jobs`` at a time; with several at
    once each process gets ``cores / args.jobs`` threads (no oversubscription). Timing
    runs are made afterwards, with all threads."""
    if args.jobs == 1:
        return [job() for job in jobs]
    saved = os.environ.get('OMP_NUM_THREADS')
    os.environ['OMP_NUM_THREADS'] = str(max(1, (os.cpu_count() or 1) // args.jobs))
    try:
        with ThreadPoolExecutor(args.jobs) as pool:
            return list(pool.map(lambda job: job(), jobs))
    finally:
        if saved is None:
            del os.environ['OMP_NUM_THREADS']
        else:
            os.environ['OMP_NUM_THREADS'] = saved


def common_arguments(p, work_dir, readme="method's"):
    """The options every per-run-cached benchmark of this folder takes."""
    p.add_argument('--seeds', type=int, nargs='+', default=[0, 1])
    p.add_argument('--jobs', type=int, default=2,
                   help='training runs at once (default 2: one thread each on 2 cores)')
    p.add_argument('--machine', default='cpu2', help='machine tag of the result files')
    p.add_argument('--work-dir', default=work_dir)
    p.add_argument('--out', default='benchmarks', help='results folder')
    p.add_argument('--no-embed', action='store_true',
                   help=f"do not update the {readme} README")
    p.add_argument('--fresh', action='store_true', help='retrain everything')


def parse_checked(p, argv, positive):
    """Parse; every option named in ``positive`` must be >= 1, seeds distinct."""
    args = p.parse_args(argv)
    if min(getattr(args, name) for name in positive) < 1:
        names = ', '.join(f'--{n.replace("_", "-")}' for n in positive)
        p.error(f'{names} must be >= 1')
    args.rows = ['student']
    check_seeds(p, args)
    return args


def teacher_row(teacher):
    return dict(name='teacher', per_seed=[teacher['top1']], mean=teacher['top1'],
                std=0.0, peak_mem_mb=teacher['peak_mem_mb'],
                extra=dict(seeds_trained=[0]))


def stat_row(name, results, reference=None):
    per = [r['top1'] for r in results]
    m, s = mean_std(per)
    row = dict(name=name, per_seed=per, mean=round(m, 5), std=round(s, 5),
               peak_mem_mb=max(r['peak_mem_mb'] for r in results),
               extra=dict(train_seconds_per_seed=[r['train_seconds'] for r in results]))
    if reference is not None:
        row['extra']['delta_vs_student'] = round(m - reference, 5)
    return row


def m5_rows(teacher, runs, timing):
    rows = [teacher_row(teacher)]
    s_mean = mean_std([r['top1'] for r in runs['student']])[0]
    for name, results in runs.items():
        row = stat_row(name, results, None if name == 'student' else s_mean)
        if name != 'student':
            row['time_per_iter_ratio'] = round(timing['time_per_iter_ratio'][name], 3)
            row['overhead_vs_floor'] = round(timing['overhead_vs_floor'][name], 3)
        rows.append(row)
    return rows


def m7_rows(teacher, student_runs, runs):
    rows = [teacher_row(teacher)]
    student = stat_row('student', student_runs)
    s_time = statistics.fmean(r['seconds_per_iter'] for r in student_runs)
    student['extra'].update(seconds_per_iter=round(s_time, 4),
                            note='trained on the real toy training images')
    rows.append(student)
    for name, results in runs.items():
        row = stat_row(name, results, student['mean'])
        secs = statistics.fmean(r['seconds_per_iter'] for r in results)
        row['time_per_iter_ratio'] = round(secs / s_time, 3)
        row['extra'].update(seconds_per_iter=round(secs, 4),
                            fraction_of_teacher=round(row['mean'] / teacher['top1'], 4),
                            real_training_images=0)
        rows.append(row)
    return rows


def m5_verdicts(rows):
    by = {r['name']: r for r in rows}
    base = max(('baseline:kd', 'mmrazor:at', 'mmrazor:cwd'), key=lambda n: by[n]['mean'])
    d = by['M5']['mean'] - by[base]['mean']
    return [(f'M5 beats the best of KD, AT, CWD ({base}) by >= {100 * M5_TARGET:.1f} '
             'top-1 points', d >= M5_TARGET - 1e-9, f'{100 * d:+.2f} points')]


def m7_verdicts(rows):
    by = {r['name']: r for r in rows}
    frac = by['M7']['extra']['fraction_of_teacher']
    out = [(f'M7 (zero real images) reaches >= {100 * M7_TARGET:.0f} % of the teacher '
            'top-1', frac >= M7_TARGET, f'{100 * frac:.1f} %')]
    for other in ('mmrazor:dafl', 'mmrazor:dfad'):
        out.append((f'M7 beats {other}', by['M7']['mean'] > by[other]['mean'],
                    f'{by["M7"]["mean"]:.4f} vs {by[other]["mean"]:.4f}'))
    return out


def finish_table(lines, notes, checks):
    """A benchmark table's text: its ``lines``, the notes, then one line per target."""
    lines = lines + ['', *notes, '', 'Targets:', '']
    lines += [f'- {"met" if ok else "NOT met"}: {t} ({v})' for t, ok, v in checks]
    return '\n'.join(lines) + '\n'


def markdown(title, meta, rows, checks, notes):
    lines = [title, '', f'Command: `{meta["command"]}`', '',
             '| row | top-1 (mean ± std) | per seed | Δ vs no-KD | time/iter vs no-KD | '
             'vs floor | peak mem (MB) |',
             '|---|---:|---|---:|---:|---:|---:|']
    for r in rows:
        delta = r['extra'].get('delta_vs_student')
        lines.append(
            f'| {r["name"]} | {100 * r["mean"]:.2f} ± {100 * r["std"]:.2f} | '
            f'{", ".join(f"{100 * v:.1f}" for v in r["per_seed"])} | '
            f'{"" if delta is None else f"{100 * delta:+.2f} pt"} | '
            f'{r.get("time_per_iter_ratio", "")} | {r.get("overhead_vs_floor", "")} | '
            f'{r["peak_mem_mb"]:.0f} |')
    return finish_table(lines, notes, checks)


def publish(args, task, meta, rows, checks, settings, table, readmes,
            metric=('top1', 'top-1'), ours=('M5', 'M7')):
    """The JSON (../shared/BENCHMARKS.md), markdown table and plot of one table, the
    table embedded in each of ``readmes``; ``metric``: (JSON name, label)."""
    key = f'{task}-{meta["dataset"]}-{args.machine}'
    write_json(osp.join(args.out, 'results', f'{key}.json'), dict(
        task=task, dataset=meta['dataset'], machine=args.machine,
        command=meta['command'], date=meta['date'], metric=metric[0], seeds=args.seeds,
        rows=rows, settings=settings,
        targets=[dict(target=t, met=ok, value=v) for t, ok, v in checks]))
    with open(osp.join(args.out, f'{key}.md'), 'w') as f:
        f.write(table)
    plot(osp.join(args.out, f'{key}.png'), rows,
         f'{meta["dataset"]} on {args.machine}: {task}, student {metric[1]}, mean ± std '
         'over seeds', ours=ours, ylabel=f'{metric[1]} (%)')
    if not args.no_embed:
        for folder in readmes:
            embed(osp.join(folder, 'README.md'), key, table)
    log(table)


def run_dir(work, name, seed):
    return osp.join(work, 'runs', f'{name.replace(":", "_")}-s{seed}')


def student_jobs(args, work, opts, rows, **kwargs):
    """One training job per (row, seed): ``[(name, job)]``."""
    return [(name, lambda name=name, seed=seed: train_once(
        f'{name} s{seed}', rows[name][0], run_dir(work, name, seed), args.epochs, seed,
        opts, fresh=args.fresh, metrics=top1_metrics, **kwargs))
        for name in rows for seed in args.seeds]


def collect(args, named_jobs):
    runs = {}
    for (name, _), res in zip(named_jobs, run_all(args, [j for _, j in named_jobs])):
        runs.setdefault(name, []).append(res)
    return runs


def run_m5(args, meta, work, opts, teacher, t_ckpt, student_runs):
    rows = {n: v for n, v in M5_ROWS.items() if n != 'student'}
    runs = dict(student=student_runs,
                **collect(args, student_jobs(args, work, opts, rows, teacher_ckpt=t_ckpt)))
    methods = [f'{n}={M5_ROWS[n][0]}' for n in M5_ROWS if n != 'student']
    timing = measure_timing(work, t_ckpt, methods, opts, args.timing_iters,
                            student=STUDENT)
    rows = m5_rows(teacher, runs, timing)
    checks = m5_verdicts(rows)
    notes = [f'{args.epochs} epochs per student, teacher {args.teacher_epochs} epochs; '
             'M5 = hybrid attention at 3 stages + logit KD (half the KD row\'s weight: every '
             'row\'s distillation gradient is ~0.7x its task gradient, '
             'tools/benchmark/grad_balance.py). Floor = '
             f'student training iteration + teacher inference '
             f'({timing["floor_seconds"]:.3f} s here; no-KD '
             f'{timing["seconds_per_iter"]["student"]:.3f} s). Peak memory: '
             f'{teacher["peak_mem_kind"]}.']
    title = (f'Classification distillation (M5) on {meta["dataset"]} ({args.machine}, '
             f'{meta["date"]}): student top-1 over seeds {args.seeds}.')
    table = markdown(title, meta, rows, checks, notes)
    settings = dict(epochs=args.epochs, teacher_epochs=args.teacher_epochs,
                    scale=args.scale, batch_size=args.batch_size, teacher_config=TEACHER,
                    configs={n: c for n, (c, _) in M5_ROWS.items()}, timing=timing)
    publish(args, 'classification', meta, rows, checks, settings, table,
            [f for _, f in M5_ROWS.values() if f])


def df_timing(args, work, data_root, t_ckpt):
    """Seconds per training iteration of the no-KD student and of each data-free row,
    each run alone for ``--df-timing-iters`` logged iterations (the full runs share the
    cores, so their own logs are not comparable)."""
    n = args.df_timing_iters
    val = data_free_options(data_root, n, 0)[:4]  # val / test loaders on the toy data
    specs = [('student', M5_ROWS['student'][0], data_options(data_root, args.batch_size))]
    specs += [(name, cfg, val + [f'{key}={t_ckpt}'])
              for name, (cfg, _, key, _) in M7_ROWS.items()]
    secs = {}
    for name, cfg, opts in specs:
        out = osp.join(work, 'timing-df', name.replace(':', '_'))
        shutil.rmtree(out, ignore_errors=True)
        os.makedirs(out)
        run([sys.executable, 'tools/train.py', cfg, '--work-dir', out, '--max-iters',
             str(n), '--cfg-options', 'default_hooks.logger.interval=10', *opts],
            osp.join(out, 'train.log'), f'timing {name}')
        secs[name] = logged_seconds_per_iter(out)
    return secs


def run_m7(args, meta, work, data_root, teacher, t_ckpt, student_runs):
    jobs = [(name, lambda name=name, seed=seed, cfg=cfg, key=key, n=args.df_iters * k:
             train_once(f'{name} s{seed}', cfg, run_dir(work, name, seed), n, seed,
                        [f'{key}={t_ckpt}'], fresh=args.fresh, iters=n,
                        metrics=top1_metrics,
                        schedule=data_free_options(data_root, n, seed)))
            for name, (cfg, _, key, k) in M7_ROWS.items() for seed in args.seeds]
    runs = collect(args, jobs)
    secs = df_timing(args, work, data_root, t_ckpt)
    for name, results in dict(runs, student=student_runs).items():
        for res in results:
            res['seconds_per_iter'] = secs[name]
    rows = m7_rows(teacher, student_runs, runs)
    checks = m7_verdicts(rows)
    notes = [f'{args.df_iters * STUDENT_ITER} student steps (batch 32 of generated '
             f'images) per data-free student: M7 and DFAD {args.df_iters} iterations of '
             f'{STUDENT_ITER} student steps, DAFL {args.df_iters * STUDENT_ITER} '
             'iterations of one; no real training image is read. Teacher and no-KD '
             'student as in the classification table (the student row trains on the '
             'real images). time/iter vs no-KD: each row trained alone for '
             f'{args.df_timing_iters} iterations, median of the logged iteration times '
             '(an M7 / DFAD iteration holds its generator steps and 5 student steps, a '
             f'DAFL one a generator and a student step). Peak memory: '
             f'{teacher["peak_mem_kind"]}.']
    title = (f'Data-free distillation (M7) on {meta["dataset"]} ({args.machine}, '
             f'{meta["date"]}): student top-1 over seeds {args.seeds}.')
    table = markdown(title, meta, rows, checks, notes)
    settings = dict(df_iters=args.df_iters, teacher_epochs=args.teacher_epochs,
                    scale=args.scale, teacher_config=TEACHER,
                    configs={n: c for n, (c, _, _, _) in M7_ROWS.items()})
    publish(args, 'data-free', meta, rows, checks, settings, table,
            [f for _, f, _, _ in M7_ROWS.values() if f])


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--part', choices=('all', 'm5', 'm7'), default='all')
    p.add_argument('--epochs', type=int, default=30, help='student epochs (default 30)')
    p.add_argument('--teacher-epochs', type=int, default=30,
                   help='teacher epochs (default 30; the teacher is cached)')
    p.add_argument('--df-iters', type=int, default=600,
                   help=f'M7 / DFAD iterations of each data-free student ({STUDENT_ITER} '
                   'student steps each; DAFL gets as many steps; default 600)')
    p.add_argument('--scale', type=int, default=1,
                   help='dataset size multiplier (1: 1000 / 1000 images)')
    p.add_argument('--batch-size', type=int, default=32)
    p.add_argument('--timing-iters', type=int, default=12)
    p.add_argument('--df-timing-iters', type=int, default=40,
                   help='iterations of the data-free timing runs (default 40)')
    common_arguments(p, 'work_dirs/benchmark/cls', readme="methods'")
    return parse_checked(p, argv, ('epochs', 'teacher_epochs', 'df_iters',
                                   'df_timing_iters', 'scale', 'jobs'))


def main(argv=None):
    args = parse_args(argv)
    os.chdir(ROOT)
    work = osp.join(args.work_dir, f'x{args.scale}')
    os.makedirs(work, exist_ok=True)
    meta = dict(command=command_line('cls_kd.py', argv),
                date=datetime.date.today().isoformat())
    log('[1/4] toy classification data')
    meta['dataset'], data_root = make_toy_cls(args.scale, work)
    opts = data_options(data_root, args.batch_size)
    log(f'[2/4] teacher, {args.teacher_epochs} epochs (cached)')
    teacher = train_once('teacher', TEACHER,
                         osp.join(work, f'teacher-e{args.teacher_epochs}'),
                         args.teacher_epochs, 0, opts, metrics=top1_metrics)
    t_ckpt = teacher['checkpoint']
    log(f'[3/4] no-KD student, {args.epochs} epochs, seeds {args.seeds}')
    student_runs = collect(args, student_jobs(
        args, work, opts, dict(student=M5_ROWS['student'])))['student']
    log('[4/4] tables')
    if args.part in ('all', 'm5'):
        run_m5(args, meta, work, opts, teacher, t_ckpt, student_runs)
    if args.part in ('all', 'm7'):
        run_m7(args, meta, work, data_root, teacher, t_ckpt, student_runs)


if __name__ == '__main__':
    main()
