"""Metric-learning distillation benchmark: M8 (mutual, teacher guides / student feeds
back) against one-way relational KD (MMRazor's DistanceWiseRKD + AngleWiseRKD), on the
toy retrieval data (class-disjoint train / test classes).

    python tools/benchmark/retrieval_kd.py           # toy default, 2 CPU cores
    make bench-retrieval

One run, same data, schedule and seeds for every row:
1. makes the toy retrieval data (seeded: 20 classes x 40 images, 64 px; the first 10
   classes train, the other 10 are the held-out test classes),
2. per seed: trains the teacher (WRN-16-2, 512-d) alone and the student (resnet8, 128-d)
   alone, then the student with one-way RKD from that seed's trained teacher, and M8
   (the student trained together with that trained teacher, which M8 fine-tunes at a
   tenth of the learning rate with the student's feedback),
3. evaluates M8's teacher too (exported with ``tools/export_student.py --part teacher``
   and tested with ``tools/test.py``),
4. writes ``benchmarks/results/retrieval-<dataset>-<machine>.json`` (../shared/
   BENCHMARKS.md), a markdown table and a plot under ``benchmarks/``, and embeds the
   table in configs/mutual_metric/README.md.

Metrics (kd_plugins' EmbeddingRecallNMI on the held-out classes, fractions):
Recall@1/2/4/8 (cosine, the query left out of its gallery) and NMI (k-means with one
cluster per test class). Finished runs are kept
(``<work-dir>/runs/<row>-e<epochs>-s<seed>/result.json``): an interrupted benchmark
resumes; ``--fresh`` starts over.
"""
import argparse
import datetime
import json
import os
import os.path as osp
import re
import statistics
import sys

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
from _jobs import ROOT, log, run, schedule_options  # noqa: E402
from cls_kd import common_arguments, finish_table, logged_seconds_per_iter  # noqa: E402
from cls_kd import data_options as cls_data_options  # noqa: E402
from cls_kd import parse_checked, run_all  # noqa: E402
from cls_kd import publish as cls_publish  # noqa: E402
from det_kd import command_line, mean_std, train_once, write_json  # noqa: E402
from seg_kd import pct  # noqa: E402

TEACHER = 'configs/metric_embedders/wrn-16-2-512d_toy-retrieval.py'
STUDENT = 'configs/metric_embedders/resnet8-128d_toy-retrieval.py'
PAIR = 'wrn-16-2-512d_resnet8-128d_toy-retrieval.py'
# row name -> (config, takes the trained teacher's checkpoint)
ROWS = {
    'teacher': (TEACHER, False),
    'student': (STUDENT, False),
    'mmrazor:rkd': (f'configs/mmrazor_rkd/rkd_{PAIR}', True),
    'M8': (f'configs/mutual_metric/m8_{PAIR}', True),
}
README = 'configs/mutual_metric'
KEYS = ('R@1', 'R@2', 'R@4', 'R@8', 'NMI')
METRICS = re.compile(r'retrieval/R@1: ([0-9.]+)\s+retrieval/R@2: ([0-9.]+)\s+'
                     r'retrieval/R@4: ([0-9.]+)\s+retrieval/R@8: ([0-9.]+)\s+'
                     r'retrieval/NMI: ([0-9.]+)')


def retrieval_metrics(text):
    """``{R@1, R@2, R@4, R@8, NMI}`` (fractions) of a log's last evaluation, or None."""
    found = METRICS.findall(text)
    if not found:
        return None
    return {k: float(v) / 100 for k, v in zip(KEYS, found[-1])}


BATCH_SIZE = 32  # the toy configs' 8 classes x 4 images


def data_options(root):
    """cls_kd's loader options (one worker, one kept checkpoint) and a log line per
    epoch (12 iterations)."""
    return cls_data_options(root, BATCH_SIZE) + ['default_hooks.logger.interval=12']


def make_toy_retrieval(work):
    root = 'data/toy_retrieval_bench'
    run([sys.executable, 'tools/make_toy_data.py', 'retrieval', '--out', root],
        osp.join(work, 'data.log'), 'data')
    return 'toy-retrieval', root


def run_dir(work, name, seed, epochs):
    return osp.join(work, 'runs', f'{name.replace(":", "_")}-e{epochs}-s{seed}')


def train_row(args, work, opts, name, seed, teacher_ckpt=None):
    out = run_dir(work, name, seed, args.epochs)
    res = train_once(f'{name} s{seed}', ROWS[name][0], out, args.epochs, seed, opts,
                     teacher_ckpt=teacher_ckpt, fresh=args.fresh,
                     metrics=retrieval_metrics,
                     schedule=schedule_options(args.epochs, seed, validate=True))
    if 'seconds_per_iter' not in res:
        res['seconds_per_iter'] = round(logged_seconds_per_iter(out), 4)
        write_json(osp.join(out, 'result.json'), res)
    return res


def m8_teacher(args, work, opts, seed, m8):
    """Recall@K / NMI of M8's teacher: exported from the M8 checkpoint, then tested."""
    out = osp.join(run_dir(work, 'M8', seed, args.epochs), 'teacher')
    result_file = osp.join(out, 'result.json')
    if osp.isfile(result_file) and not args.fresh:
        with open(result_file) as f:
            return json.load(f)
    os.makedirs(out, exist_ok=True)
    run([sys.executable, 'tools/export_student.py', m8['checkpoint'], '--config',
         ROWS['M8'][0], '--out', out, '--part', 'teacher'],
        osp.join(out, 'export.log'), f'export M8 teacher s{seed}')
    metrics_json = osp.join(out, 'metrics.json')
    run([sys.executable, 'tools/test.py', osp.join(out, 'teacher.py'),
         osp.join(out, 'teacher.pth'), '--json', metrics_json, '--work-dir',
         osp.join(out, 'test'), '--cfg-options', *opts],
        osp.join(out, 'test.log'), f'test M8 teacher s{seed}')
    with open(metrics_json) as f:
        found = json.load(f)
    res = {k: found[f'retrieval/{k}'] / 100 for k in KEYS}
    res.update(seed=seed, checkpoint=osp.join(out, 'teacher.pth'),
               train_seconds=m8['train_seconds'], peak_mem_mb=m8['peak_mem_mb'],
               seconds_per_iter=m8['seconds_per_iter'])
    write_json(result_file, res)
    return res


def all_runs(args, work, opts):
    """Teachers and students alone first (RKD and M8 start from the trained teacher),
    then RKD and M8."""
    runs = {}
    for stage in (('teacher', 'student'), ('mmrazor:rkd', 'M8')):
        jobs = [(name, seed) for seed in args.seeds for name in stage]
        done = run_all(args, [lambda n=n, s=s: train_row(
            args, work, opts, n, s,
            runs['teacher'][s]['checkpoint'] if ROWS[n][1] else None)
            for n, s in jobs])
        for (name, seed), res in zip(jobs, done):
            runs.setdefault(name, {})[seed] = res
    runs['M8-teacher'] = {s: m8_teacher(args, work, opts, s, runs['M8'][s])
                          for s in args.seeds}
    return {name: [per[s] for s in args.seeds] for name, per in runs.items()}


def stat_row(name, results, reference=None):
    per = [r['R@1'] for r in results]
    m, s = mean_std(per)
    extra = dict(train_seconds_per_seed=[r['train_seconds'] for r in results],
                 seconds_per_iter=round(statistics.fmean(
                     r['seconds_per_iter'] for r in results), 4))
    for key in KEYS[1:]:
        vals = [r[key] for r in results]
        mk, sk = mean_std(vals)
        extra.update({key: round(mk, 5), f'{key}_std': round(sk, 5),
                      f'{key}_per_seed': vals})
    if reference is not None:
        extra['delta_R@1_vs_reference'] = round(m - reference['mean'], 5)
        extra['delta_NMI_vs_reference'] = round(extra['NMI'] - reference['extra']['NMI'],
                                                5)
    return dict(name=name, per_seed=per, mean=round(m, 5), std=round(s, 5),
                peak_mem_mb=max(r['peak_mem_mb'] for r in results), extra=extra)


ORDER = ('teacher', 'student', 'mmrazor:rkd', 'M8', 'M8-teacher')
# the row each row's deltas are taken against
REFERENCE = {'mmrazor:rkd': 'student', 'M8': 'mmrazor:rkd', 'M8-teacher': 'teacher'}


def make_rows(runs):
    rows = {}
    for name in ORDER:
        ref = rows.get(REFERENCE.get(name))
        rows[name] = stat_row(name, runs[name], ref)
        if ref is not None:
            rows[name]['extra']['reference'] = REFERENCE[name]
    s_time = rows['student']['extra']['seconds_per_iter']
    for name in ('mmrazor:rkd', 'M8'):
        rows[name]['time_per_iter_ratio'] = round(
            rows[name]['extra']['seconds_per_iter'] / s_time, 3)
    rows['M8-teacher']['extra']['note'] = (
        "M8's teacher, trained in the M8 run (time and memory are that run's)")
    return [rows[n] for n in ORDER]


def verdicts(rows):
    by = {r['name']: r for r in rows}
    m8, rkd = by['M8'], by['mmrazor:rkd']
    mt, t = by['M8-teacher'], by['teacher']
    return [
        ("M8's student beats one-way relational KD on Recall@1", m8['mean'] > rkd['mean'],
         f'{100 * m8["mean"]:.2f} vs {100 * rkd["mean"]:.2f}'),
        ("M8's student beats one-way relational KD on NMI",
         m8['extra']['NMI'] > rkd['extra']['NMI'],
         f'{100 * m8["extra"]["NMI"]:.2f} vs {100 * rkd["extra"]["NMI"]:.2f}'),
        ("M8's teacher is at least as good as the teacher trained alone (Recall@1)",
         mt['mean'] >= t['mean'], f'{100 * mt["mean"]:.2f} vs {100 * t["mean"]:.2f}'),
        ("M8's teacher is at least as good as the teacher trained alone (NMI)",
         mt['extra']['NMI'] >= t['extra']['NMI'],
         f'{100 * mt["extra"]["NMI"]:.2f} vs {100 * t["extra"]["NMI"]:.2f}'),
    ]


def markdown(title, meta, rows, checks, notes):
    lines = [title, '', f'Command: `{meta["command"]}`', '',
             '| row | R@1 (mean ± std) | per seed | R@2 | R@4 | R@8 | NMI | '
             'Δ R@1 / Δ NMI (vs) | s/iter | peak mem (MB) |',
             '|---|---:|---|---:|---:|---:|---:|---|---:|---:|']
    for r in rows:
        e = r['extra']
        delta = '' if 'reference' not in e else (
            f'{100 * e["delta_R@1_vs_reference"]:+.2f} / '
            f'{100 * e["delta_NMI_vs_reference"]:+.2f} ({e["reference"]})')
        lines.append(
            f'| {r["name"]} | {pct(r["mean"], r["std"])} | '
            f'{", ".join(f"{100 * v:.1f}" for v in r["per_seed"])} | '
            + ' | '.join(pct(e[k], e[f'{k}_std']) for k in KEYS[1:]) +
            f' | {delta} | {e["seconds_per_iter"]} | {r["peak_mem_mb"]:.0f} |')
    return finish_table(lines, notes, checks)


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--epochs', type=int, default=60,
                   help='epochs of every run (default 60, the toy schedule)')
    common_arguments(p, 'work_dirs/benchmark/retrieval', readme="M8")
    return parse_checked(p, argv, ('epochs', 'jobs'))


def main(argv=None):
    args = parse_args(argv)
    os.chdir(ROOT)
    work = args.work_dir
    os.makedirs(work, exist_ok=True)
    meta = dict(command=command_line('retrieval_kd.py', argv),
                date=datetime.date.today().isoformat())
    log('[1/3] toy retrieval data')
    meta['dataset'], data_root = make_toy_retrieval(work)
    opts = data_options(data_root)
    log(f'[2/3] teacher, student, M8 ({args.epochs} epochs, seeds {args.seeds}), then '
        'one-way RKD from each seed\'s teacher and the M8 teachers\' evaluation')
    runs = all_runs(args, work, opts)
    log('[3/3] tables')
    rows = make_rows(runs)
    checks = verdicts(rows)
    notes = [f'{args.epochs} epochs per run (batch 32 = 8 classes x 4 images), every row '
             'on the held-out test classes. teacher: WRN-16-2 (512-d) trained alone; '
             'student: resnet8 (128-d) alone; mmrazor:rkd: the student with MMRazor '
             "DistanceWiseRKD + AngleWiseRKD from the same seed's trained teacher "
             "(frozen); M8: the student trained together with the same trained teacher, "
             "which M8 fine-tunes (a tenth of the learning rate, the student's gated "
             "feedback); M8-teacher: that run's teacher after it. Recall@K "
             'cosine, query left out of its gallery; NMI: k-means, one cluster per '
             'test class. s/iter: median logged iteration time of the runs themselves '
             f'({args.jobs} runs at a time, cores shared); peak memory: process max RSS.']
    title = (f'Metric-learning distillation (M8) on {meta["dataset"]} ({args.machine}, '
             f'{meta["date"]}): Recall@K and NMI over seeds {args.seeds}.')
    table = markdown(title, meta, rows, checks, notes)
    settings = dict(epochs=args.epochs, batch_size=BATCH_SIZE, samples_per_class=4,
                    configs={n: c for n, (c, _) in ROWS.items()})
    cls_publish(args, 'retrieval', meta, rows, checks, settings, table, [README],
                metric=('R@1', 'Recall@1'), ours=('M8', 'M8-teacher'))


if __name__ == '__main__':
    main()
