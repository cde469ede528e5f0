"""Detection distillation benchmark: M1, M2, M4 against MMRazor's CWD, PKD and FBKD.

    python tools/benchmark/det_kd.py                     # toy default, 2 CPU cores
    python tools/benchmark/det_kd.py --scale 4 --machine h100   # bigger, on a GPU

One run, same schedule and seeds for every row:
1. makes the toy detection data (seeded; ``--scale N`` makes N times the images),
2. trains the teacher (YOLOv3 MobileNetV2 w1.0) or reuses the cached one,
3. trains the student (w0.25) without KD and with M1, M2, M4, MMRazor CWD / PKD / FBKD,
   once per seed, validating at the end (bbox mAP and AP50 on the toy val split),
4. measures per-iteration cost in one process (tools/benchmark/iter_timing.py): each
   method's training iteration against the no-KD iteration and against the floor
   (student training iteration + teacher inference),
5. writes ``benchmarks/results/detection-<dataset>-<machine>.json`` (the format of
   ../shared/BENCHMARKS.md), a markdown table and a plot under ``benchmarks/``, and
   embeds the table in each method's README.

Finished runs are kept (``<work-dir>/runs/<row>-s<seed>/result.json``): a crashed or
interrupted benchmark resumes where it stopped; ``--fresh`` starts over.
"""
import argparse
import datetime
import json
import os
import os.path as osp
import re
import shlex
import shutil
import statistics
import sys

TOOLS = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, TOOLS)
from _jobs import ROOT, last_bbox_metrics, log, run, schedule_options  # noqa: E402

TEACHER = 'configs/detectors/yolov3_mobilenetv2-w100_8xb8-12e_toy-det.py'
STUDENT = 'configs/detectors/yolov3_mobilenetv2-w025_8xb8-12e_toy-det.py'
PAIR = 'yolov3-mbv2-w100_yolov3-mbv2-w025_toy-det.py'
# row name -> (config, README that embeds the table or None)
ROWS = {
    'student': (STUDENT, None),
    'M1': (f'configs/attention_imitation/m1_{PAIR}', 'configs/attention_imitation'),
    'M2': (f'configs/confidence_guided/m2_{PAIR}', 'configs/confidence_guided'),
    'M4': (f'configs/info_map/m4_{PAIR}', 'configs/info_map'),
    'mmrazor:cwd': (f'configs/mmrazor_cwd/cwd_neck_{PAIR}', None),
    'mmrazor:pkd': (f'configs/mmrazor_pkd/pkd_neck_{PAIR}', None),
    'mmrazor:fbkd': (f'configs/mmrazor_fbkd/fbkd_neck_{PAIR}', None),
}
OURS = ('M1', 'M2', 'M4')
MMRAZOR = ('mmrazor:cwd', 'mmrazor:pkd', 'mmrazor:fbkd')
TARGET_DELTA = 0.020  # each of M1, M2, M4: +2.0 mAP points over no-KD
TARGET_OVERHEAD = 1.15  # distillation iteration <= 1.15 x floor
GPU_MEM = re.compile(r'\smemory: (\d+)')


def data_options(root, batch_size):
    """--cfg-options pointing the toy configs at ``root``."""
    root = root.rstrip('/') + '/'
    opts = [f'{s}_dataloader.dataset.data_root={root}' for s in ('train', 'val', 'test')]
    opts += [f'{s}_evaluator.ann_file={root}annotations/val.json' for s in ('val', 'test')]
    opts.append(f'train_dataloader.batch_size={batch_size}')
    return opts


def command_line(script, argv):
    """The command that reproduces this run (goes into the result file)."""
    return ' '.join(['python', f'tools/benchmark/{script}', *(
        shlex.quote(a) for a in (sys.argv[1:] if argv is None else argv))])


def make_toy_det(scale, work):
    """Make the seeded toy detection set at ``scale`` (idempotent); its name and root."""
    dataset = 'toy-det' if scale == 1 else f'toy-det-x{scale}'
    data_root = 'data/toy_det' if scale == 1 else f'data/toy_det_x{scale}'
    run([sys.executable, 'tools/make_toy_data.py', 'det', '--out', data_root,
         '--num-train', str(800 * scale), '--num-val', str(200 * scale)],
        osp.join(work, 'data.log'), 'data')
    return dataset, data_root


def check_seeds(parser, args):
    if len(set(args.seeds)) != len(args.seeds) or any(s < 0 for s in args.seeds):
        parser.error('--seeds must be distinct non-negative integers')
    if 'student' not in args.rows:
        args.rows = ['student'] + args.rows


def write_json(path, obj):
    os.makedirs(osp.dirname(path) or '.', exist_ok=True)
    tmp = f'{path}.tmp'
    with open(tmp, 'w') as f:
        json.dump(obj, f, indent=2)
        f.write('\n')
    os.replace(tmp, path)


def bbox_metrics(text):
    """``{bbox_mAP, AP50}`` of a training log's last COCO evaluation, or None."""
    found = last_bbox_metrics(text)
    return None if found is None else dict(bbox_mAP=found[0], AP50=found[1])


def train_once(tag, cfg, out, epochs, seed, opts, teacher_ckpt=None, fresh=False,
               iters=None, metrics=bbox_metrics, schedule=None):
    """Train ``cfg`` (validating at the end) unless a finished result is cached;
    ``epochs`` of an epoch-based config, or ``iters`` of an iteration-based one.
    ``metrics(log text)`` gives the result's metrics (the first one is the headline);
    ``schedule``: the config's own schedule options instead of ``schedule_options``."""
    result_file = osp.join(out, 'result.json')
    if osp.isfile(result_file) and not fresh:
        with open(result_file) as f:
            res = json.load(f)
        first = next(iter(res))
        log(f'  [{tag}] reusing {result_file}: {first} {res[first]:.4f}')
        return res
    if osp.isdir(out):
        shutil.rmtree(out)
    os.makedirs(out)
    cmd = [sys.executable, 'tools/train.py', cfg, '--work-dir', out]
    if teacher_ckpt:
        cmd += ['--teacher-ckpt', teacher_ckpt]
    if schedule is None:
        schedule = schedule_options(epochs if iters is None else iters, seed,
                                    validate=True, iters=iters is not None)
    cmd += ['--cfg-options', *schedule, *opts]
    logfile = osp.join(out, 'train.log')
    secs, rss_mb = run(cmd, logfile, tag, epochs)
    with open(logfile) as f:
        text = f.read()
    res = metrics(text)
    if res is None:
        raise SystemExit(f'{tag}: no evaluation result in {logfile}')
    gpu = [int(m) for m in GPU_MEM.findall(text)]
    res.update(train_seconds=round(secs, 1),
               peak_mem_mb=float(max(gpu)) if gpu else round(rss_mb, 1),
               peak_mem_kind='gpu_max_allocated' if gpu else 'process_max_rss',
               checkpoint=osp.join(out, f'epoch_{epochs}.pth' if iters is None else
                                   f'iter_{iters}.pth'), seed=seed)
    res.update(dict(epochs=epochs) if iters is None else dict(iters=iters))
    write_json(result_file, res)
    return res


def measure_timing(work, teacher_ckpt, methods, opts, iters, student=STUDENT):
    """Per-iteration cost of every method (tools/benchmark/iter_timing.py)."""
    if not methods:
        return dict(time_per_iter_ratio={}, overhead_vs_floor={},
                    teacher_without_autograd={}, floor_seconds=float('nan'),
                    seconds_per_iter=dict(student=float('nan')))
    timing_json = osp.join(work, 'timing.json')
    cmd = [sys.executable, 'tools/benchmark/iter_timing.py', '--student', student,
           '--teacher-ckpt', teacher_ckpt, '--iters', str(iters), '--json', timing_json,
           '--cfg-options', *opts]
    for m in methods:
        cmd += ['--method', m]
    run(cmd, osp.join(work, 'timing.log'), 'timing')
    with open(timing_json) as f:
        return json.load(f)


def mean_std(values):
    return statistics.fmean(values), statistics.pstdev(values) if len(values) > 1 else 0.0


def build_rows(teacher_res, runs, timing):
    rows = [dict(name='teacher', per_seed=[teacher_res['bbox_mAP']],
                 mean=teacher_res['bbox_mAP'], std=0.0,
                 peak_mem_mb=teacher_res['peak_mem_mb'],
                 extra=dict(AP50=teacher_res['AP50'], seeds_trained=[0]))]
    s_mean = mean_std([r['bbox_mAP'] for r in runs['student']])[0]
    t_map = teacher_res['bbox_mAP']
    for name in runs:
        per = [r['bbox_mAP'] for r in runs[name]]
        ap50 = [r['AP50'] for r in runs[name]]
        m, s = mean_std(per)
        row = dict(name=name, per_seed=per, mean=round(m, 5), std=round(s, 5),
                   peak_mem_mb=max(r['peak_mem_mb'] for r in runs[name]))
        extra = dict(AP50=round(statistics.fmean(ap50), 5), AP50_per_seed=ap50,
                     train_seconds_per_seed=[r['train_seconds'] for r in runs[name]])
        if name != 'student':
            row['time_per_iter_ratio'] = round(timing['time_per_iter_ratio'][name], 3)
            row['overhead_vs_floor'] = round(timing['overhead_vs_floor'][name], 3)
            extra['delta_vs_student'] = round(m - s_mean, 5)
            gap = t_map - s_mean
            extra['gap_closed'] = round((m - s_mean) / gap, 3) if gap > 0 else None
            extra['teacher_without_autograd'] = timing['teacher_without_autograd'][name]
        row['extra'] = extra
        rows.append(row)
    return rows


def verdicts(rows, timing):
    by = {r['name']: r for r in rows}
    out = []
    for name in OURS:
        d = by[name]['extra']['delta_vs_student']
        out.append((f'{name} improves no-KD mAP by >= {100 * TARGET_DELTA:.1f} points',
                    d >= TARGET_DELTA, f'{100 * d:+.2f} points'))
    best_ours = max(OURS, key=lambda n: by[n]['mean'])
    best_mmr = max(MMRAZOR, key=lambda n: by[n]['mean'])
    out.append((f'best of M1/M2/M4 ({best_ours}) beats best MMRazor ({best_mmr})',
                by[best_ours]['mean'] > by[best_mmr]['mean'],
                f'{by[best_ours]["mean"]:.4f} vs {by[best_mmr]["mean"]:.4f}'))
    for name in OURS:
        o = by[name]['overhead_vs_floor']
        out.append((f'{name} iteration <= {TARGET_OVERHEAD} x floor', o <= TARGET_OVERHEAD,
                    f'{o:.3f} x'))
    return out


def result_document(meta, rows, checks, settings):
    """The result file of ../shared/BENCHMARKS.md (plus settings and targets)."""
    return dict(task='detection', dataset=meta['dataset'], machine=meta['machine'],
                command=meta['command'], date=meta['date'], metric='bbox_mAP',
                seeds=meta['seeds'], rows=rows, settings=settings,
                targets=[dict(target=t, met=ok, value=v) for t, ok, v in checks])


def markdown(meta, rows, checks):
    lines = [
        f'Detection distillation on {meta["dataset"]} ({meta["machine"]}, '
        f'{meta["date"]}): student mAP over seeds {meta["seeds"]}, '
        f'{meta["epochs"]} epochs each, teacher {meta["teacher_epochs"]} epochs.',
        '',
        f'Command: `{meta["command"]}`',
        '',
        '| row | bbox mAP (mean ± std) | AP50 | Δ vs no-KD | gap closed | '
        'time/iter vs no-KD | vs floor | peak mem (MB) |',
        '|---|---:|---:|---:|---:|---:|---:|---:|',
    ]
    for r in rows:
        e = r.get('extra', {})
        delta = e.get('delta_vs_student')
        gap = e.get('gap_closed')
        lines.append(
            f'| {r["name"]} | {r["mean"]:.4f} ± {r["std"]:.4f} | {e.get("AP50", 0):.4f} | '
            f'{"" if delta is None else f"{100 * delta:+.2f} pt"} | '
            f'{"" if gap is None else f"{100 * gap:.0f} %"} | '
            f'{r.get("time_per_iter_ratio", "")} | {r.get("overhead_vs_floor", "")} | '
            f'{r["peak_mem_mb"]:.0f} |')
    lines += ['', f'Floor = student training iteration + teacher inference '
              f'({meta["floor_seconds"]:.3f} s per iteration here; no-KD '
              f'{meta["student_seconds"]:.3f} s). Peak memory: '
              f'{meta["peak_mem_kind"]}.', '', 'Targets:', '']
    for text, ok, value in checks:
        lines.append(f'- {"met" if ok else "NOT met"}: {text} ({value})')
    return '\n'.join(lines) + '\n'


def plot(path, rows, title, ours=OURS, ylabel='bbox mAP (%)'):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    names = [r['name'] for r in rows]
    means = [100 * r['mean'] for r in rows]
    stds = [100 * r['std'] for r in rows]
    colors = ['#555555' if n == 'teacher' else '#999999' if n == 'student' else
              '#1f77b4' if n in ours else '#ff7f0e' for n in names]
    fig, ax = plt.subplots(figsize=(7, 3.2), dpi=100)
    ax.bar(names, means, yerr=stds, color=colors, capsize=3)
    ax.axhline(means[names.index('student')], color='#999999', lw=0.8, ls='--')
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=9)
    ax.tick_params(axis='x', labelsize=8, rotation=20)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def embed(readme, key, table):
    """Put ``table`` between the benchmark markers of ``readme`` (append if absent)."""
    begin, end = f'<!-- benchmark:{key} -->', '<!-- /benchmark -->'
    text = open(readme).read() if osp.isfile(readme) else ''
    block = f'{begin}\n{table}{end}'
    if begin in text and end in text.split(begin, 1)[1]:
        head, rest = text.split(begin, 1)
        text = head + block + rest.split(end, 1)[1]
    else:
        text = text.rstrip('\n') + f'\n\n## Results ({key})\n\n{block}\n'
    with open(readme, 'w') as f:
        f.write(text)


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--seeds', type=int, nargs='+', default=[0, 1])
    p.add_argument('--epochs', type=int, default=8, help='student epochs (default 8)')
    p.add_argument('--teacher-epochs', type=int, default=16,
                   help='teacher epochs (default 16; the teacher is cached)')
    p.add_argument('--scale', type=int, default=1,
                   help='dataset size multiplier (1: 800/200 images; use 4-16 on a GPU)')
    p.add_argument('--batch-size', type=int, default=8)
    p.add_argument('--rows', nargs='+', default=list(ROWS), choices=list(ROWS),
                   help='student rows to run (default all; student is always run)')
    p.add_argument('--timing-iters', type=int, default=12)
    p.add_argument('--machine', default='cpu2', help='machine tag of the result file')
    p.add_argument('--work-dir', default='work_dirs/benchmark/det')
    p.add_argument('--out', default='benchmarks', help='results folder')
    p.add_argument('--no-embed', action='store_true',
                   help="do not update the methods' READMEs")
    p.add_argument('--fresh', action='store_true', help='retrain everything')
    args = p.parse_args(argv)
    if args.epochs < 1 or args.teacher_epochs < 1 or args.scale < 1:
        p.error('--epochs, --teacher-epochs and --scale must be >= 1')
    check_seeds(p, args)
    return args


def main(argv=None):
    args = parse_args(argv)
    os.chdir(ROOT)
    command = command_line('det_kd.py', argv)
    work = osp.join(args.work_dir, f'x{args.scale}')
    os.makedirs(work, exist_ok=True)

    log('[1/5] toy detection data')
    dataset, data_root = make_toy_det(args.scale, work)
    opts = data_options(data_root, args.batch_size)

    log(f'[2/5] teacher, {args.teacher_epochs} epochs (cached)')
    teacher = train_once('teacher', TEACHER,
                         osp.join(work, f'teacher-e{args.teacher_epochs}'),
                         args.teacher_epochs, 0, opts)
    t_ckpt = teacher['checkpoint']

    log(f'[3/5] students, {args.epochs} epochs, seeds {args.seeds}')
    runs = {}
    for name in [n for n in ROWS if n in args.rows]:
        cfg = ROWS[name][0]
        runs[name] = [
            train_once(f'{name} s{seed}', cfg,
                       osp.join(work, 'runs', f'{name.replace(":", "_")}-s{seed}'),
                       args.epochs, seed, opts,
                       teacher_ckpt=None if name == 'student' else t_ckpt,
                       fresh=args.fresh)
            for seed in args.seeds
        ]

    log('[4/5] per-iteration cost (one process, interleaved)')
    methods = [f'{n}={ROWS[n][0]}' for n in args.rows if n != 'student']
    timing = measure_timing(work, t_ckpt, methods, opts, args.timing_iters)

    log('[5/5] results')
    rows = build_rows(teacher, runs, timing)
    meta = dict(dataset=dataset, machine=args.machine, command=command,
                date=datetime.date.today().isoformat(), seeds=args.seeds,
                epochs=args.epochs, teacher_epochs=args.teacher_epochs,
                floor_seconds=timing['floor_seconds'],
                student_seconds=timing['seconds_per_iter']['student'],
                peak_mem_kind=teacher['peak_mem_kind'])
    checks = verdicts(rows, timing) if set(args.rows) == set(ROWS) else []
    key = f'detection-{dataset}-{args.machine}'
    settings = dict(epochs=args.epochs, teacher_epochs=args.teacher_epochs,
                    scale=args.scale, batch_size=args.batch_size, teacher_config=TEACHER,
                    configs={n: ROWS[n][0] for n in args.rows}, timing=timing)
    result = result_document(meta, rows, checks, settings)
    write_json(osp.join(args.out, 'results', f'{key}.json'), result)
    table = markdown(meta, rows, checks)
    with open(osp.join(args.out, f'{key}.md'), 'w') as f:
        f.write(table)
    plot(osp.join(args.out, f'{key}.png'), rows,
         f'{dataset} on {args.machine}: student bbox mAP, mean ± std over seeds')
    if not args.no_embed:
        for name in args.rows:
            folder = ROWS[name][1]
            if folder:
                embed(osp.join(folder, 'README.md'), key, table)
    log('')
    log(table)
    return result


if __name__ == '__main__':
    main()
