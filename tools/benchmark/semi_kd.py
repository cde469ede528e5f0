"""Semi-supervised detection distillation benchmark: M3 against supervised and KD rows
trained on the labeled part only.

    python tools/benchmark/semi_kd.py                    # toy default, 2 CPU cores
    python tools/benchmark/semi_kd.py --scale 4 --machine h100   # bigger, on a GPU

One run, same iteration count, seeds and labeled batch for every row:
1. makes the toy detection data (as tools/benchmark/det_kd.py, seeded) and, per seed,
   a labeled / unlabeled split of its train set (``--percent`` labeled, split seed =
   training seed; ``tools/make_toy_data.py det-semi``),
2. reuses (or trains) the detection benchmark's cached teacher (YOLOv3 MobileNetV2
   w1.0, trained on the whole toy train set: it stands for the big model a practitioner
   already has),
3. trains the student (w0.25) per seed: supervised on the labeled part only
   (``student``), + plain KD (MMRazor CWD) and + M2 on the labeled part only, + M3 on
   labeled + unlabeled images (each batch: the same labeled images plus as many
   unlabeled ones), and supervised on the whole train set
   (``baseline:supervised-100pct``, the upper bound); validation at the end,
4. measures what a labeled and an unlabeled image cost in an M3 training step
   (tools/benchmark/semi_cost.py),
5. writes ``benchmarks/results/semi-supervised-<dataset>-<machine>.json`` (the format
   of ../shared/BENCHMARKS.md), a markdown table and a plot under ``benchmarks/``, and
   embeds the table in ``configs/semi_adaptive/README.md``.

Finished runs are kept (``<work-dir>/runs/<row>-s<seed>/result.json``): an interrupted
benchmark resumes where it stopped; ``--fresh`` starts over.
"""
import argparse
import datetime
import json
import math
import os
import os.path as osp
import sys

TOOLS = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, TOOLS)
sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from _jobs import ROOT, log, run  # noqa: E402
from det_kd import (PAIR, STUDENT, TEACHER, check_seeds, command_line,  # noqa: E402
                    data_options, embed, make_toy_det, mean_std, plot, train_once,
                    write_json)

M3 = f'configs/semi_adaptive/m3_{PAIR[:-len("_toy-det.py")]}_toy-det-semi10.py'
# M3 without its adaptive weight: M2's own soft-label loss (gamma 0 = weight 1, M2's
# loss weight) on the labeled and the unlabeled images; isolates what the weight adds
M2_SOFT = [f'model.distiller.distill_losses.loss_soft{i}.{k}={v}' for i in range(3)
           for k, v in (('gamma', 0.0), ('loss_weight', 1.5))]
# row name -> (config, data: 'labeled' part only | 'semi' labeled + unlabeled | 'full',
#              extra --cfg-options)
ROWS = {
    'student': (STUDENT, 'labeled', []),
    'mmrazor:cwd': (f'configs/mmrazor_cwd/cwd_neck_{PAIR}', 'labeled', []),
    'M2': (f'configs/confidence_guided/m2_{PAIR}', 'labeled', []),
    'M3': (M3, 'semi', []),
    'baseline:m2-labeled+unlabeled': (M3, 'semi', M2_SOFT),
    'baseline:supervised-100pct': (STUDENT, 'full', []),
}
README = 'configs/semi_adaptive/README.md'
TARGET_OVER_M2 = 0.020  # M3 >= M2 (labeled only) + 2.0 mAP points
TARGET_GAP = 0.5  # M3 closes >= half the gap student -> supervised-100pct
TARGET_COST = 1.0  # an unlabeled image costs <= a labeled one


def split_names(percent, seed):
    tag = f'{percent:g}'
    return (f'annotations/train.{seed}@{tag}.json',
            f'annotations/train.{seed}@{tag}-unlabeled.json')


def make_split(data_root, percent, seed, work):
    """Write the seed's split (idempotent); returns the number of labeled images."""
    run([sys.executable, 'tools/make_toy_data.py', 'det-semi', '--ann',
         osp.join(data_root, 'annotations', 'train.json'), '--percent', f'{percent:g}',
         '--seed', str(seed)], osp.join(work, f'split-s{seed}.log'), 'split')
    with open(osp.join(data_root, split_names(percent, seed)[0])) as f:
        return len(json.load(f)['images'])


def row_options(kind, data_root, percent, seed, batch_size):
    """--cfg-options of a row: data root, split files and batch size."""
    opts = data_options(data_root, batch_size)
    if kind == 'labeled':
        return opts + [f'train_dataloader.dataset.ann_file={split_names(percent, seed)[0]}']
    if kind == 'full':
        return opts
    root = data_root.rstrip('/') + '/'
    opts = [o for o in opts if not o.startswith('train_dataloader.')]
    for i, ann in enumerate(split_names(percent, seed)):
        opts += [f'train_dataloader.dataset.datasets.{i}.data_root={root}',
                 f'train_dataloader.dataset.datasets.{i}.ann_file={ann}']
    # each batch: batch_size labeled + batch_size unlabeled images
    return opts + [f'train_dataloader.batch_size={2 * batch_size}',
                   f'train_dataloader.sampler.batch_size={2 * batch_size}',
                   'train_dataloader.sampler.source_ratio=[1,1]']


def build_rows(teacher_res, runs, cost, percent):
    """Result rows: the cached teacher, then every student row over its seeds."""
    rows = [dict(name='teacher', per_seed=[teacher_res['bbox_mAP']],
                 mean=teacher_res['bbox_mAP'], std=0.0,
                 peak_mem_mb=teacher_res['peak_mem_mb'],
                 extra=dict(AP50=teacher_res['AP50'], data='100% labeled',
                            seeds_trained=[0]))]
    s_mean = mean_std([r['bbox_mAP'] for r in runs['student']])[0]
    full = runs.get('baseline:supervised-100pct')
    upper = mean_std([r['bbox_mAP'] for r in full])[0] if full else None
    data = dict(labeled=f'{percent:g}% labeled',
                semi=f'{percent:g}% labeled + {100 - percent:g}% unlabeled',
                full='100% labeled')
    for name in runs:
        per = [r['bbox_mAP'] for r in runs[name]]
        m, s = mean_std(per)
        extra = dict(AP50=round(mean_std([r['AP50'] for r in runs[name]])[0], 5),
                     AP50_per_seed=[r['AP50'] for r in runs[name]],
                     data=data[ROWS[name][1]],
                     train_seconds_per_seed=[r['train_seconds'] for r in runs[name]])
        if name != 'student':
            extra['delta_vs_student'] = round(m - s_mean, 5)
            if upper is not None and upper > s_mean:
                extra['gap_closed_to_100pct'] = round((m - s_mean) / (upper - s_mean), 3)
        if name == 'M3' and cost:
            extra['unlabeled_vs_labeled_image_cost'] = round(cost['unlabeled_vs_labeled'],
                                                             3)
        rows.append(dict(name=name, per_seed=per, mean=round(m, 5), std=round(s, 5),
                         peak_mem_mb=max(r['peak_mem_mb'] for r in runs[name]),
                         extra=extra))
    return rows


def verdicts(rows, cost):
    by = {r['name']: r for r in rows}
    m3, m2 = by['M3']['mean'], by['M2']['mean']
    gap = by['M3']['extra'].get('gap_closed_to_100pct')
    ratio = cost['unlabeled_vs_labeled']
    return [
        (f'M3 beats M2 on the labeled part only by >= {100 * TARGET_OVER_M2:.1f} points',
         m3 - m2 >= TARGET_OVER_M2, f'{100 * (m3 - m2):+.2f} points'),
        (f'M3 closes >= {100 * TARGET_GAP:.0f} % of the gap between the labeled-only and '
         'the 100%-supervised student', gap is not None and gap >= TARGET_GAP,
         'no gap' if gap is None else f'{100 * gap:.0f} %'),
        ('an unlabeled image costs no more than a labeled one in an M3 step',
         ratio <= TARGET_COST, f'{ratio:.3f} x'),
    ]


def markdown(meta, rows, checks):
    lines = [
        f'Semi-supervised detection distillation on {meta["dataset"]} '
        f'({meta["machine"]}, {meta["date"]}): student bbox mAP over seeds '
        f'{meta["seeds"]}, {meta["iters"]} iterations each (labeled batch '
        f'{meta["batch_size"]}; M3 adds {meta["batch_size"]} unlabeled images per '
        f'batch), teacher {meta["teacher_epochs"]} epochs on the whole train set.',
        '',
        f'Command: `{meta["command"]}`',
        '',
        '| row | training data | bbox mAP (mean ± std) | AP50 | Δ vs student | '
        'gap to 100% closed | peak mem (MB) |',
        '|---|---|---:|---:|---:|---:|---:|',
    ]
    for r in rows:
        e = r['extra']
        delta, gap = e.get('delta_vs_student'), e.get('gap_closed_to_100pct')
        lines.append(
            f'| {r["name"]} | {e["data"]} | {r["mean"]:.4f} ± {r["std"]:.4f} | '
            f'{e["AP50"]:.4f} | {"" if delta is None else f"{100 * delta:+.2f} pt"} | '
            f'{"" if gap is None else f"{100 * gap:.0f} %"} | {r["peak_mem_mb"]:.0f} |')
    lines += ['', f'`student`: supervised on the labeled part only. Cost of one image in '
              f'an M3 training step (forward + backward, median): labeled '
              f'{meta["cost"]["seconds_per_labeled_image"]:.4f} s, unlabeled '
              f'{meta["cost"]["seconds_per_unlabeled_image"]:.4f} s. Peak memory: '
              f'{meta["peak_mem_kind"]}.', '', 'Targets:', '']
    for text, ok, value in checks:
        lines.append(f'- {"met" if ok else "NOT met"}: {text} ({value})')
    return '\n'.join(lines) + '\n'


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--seeds', type=int, nargs='+', default=[0, 1])
    p.add_argument('--epochs', type=int, default=8,
                   help='length of every row in epochs of the whole train set at the '
                   'labeled batch size (default 8: 800 iterations on the toy set)')
    p.add_argument('--teacher-epochs', type=int, default=16,
                   help='teacher epochs (default 16; cached, shared with det_kd.py)')
    p.add_argument('--percent', type=float, default=10.0, help='labeled share (%%)')
    p.add_argument('--scale', type=int, default=1,
                   help='dataset size multiplier (1: 800/200 images)')
    p.add_argument('--batch-size', type=int, default=8, help='labeled images per batch')
    p.add_argument('--rows', nargs='+', default=list(ROWS), choices=list(ROWS),
                   help='student rows to run (default all; student is always run)')
    p.add_argument('--cost-iters', type=int, default=10)
    p.add_argument('--machine', default='cpu2', help='machine tag of the result file')
    p.add_argument('--work-dir', default='work_dirs/benchmark',
                   help='runs go to <work-dir>/semi/x<scale>, the teacher is shared '
                   'with det_kd.py under <work-dir>/det/x<scale>')
    p.add_argument('--out', default='benchmarks', help='results folder')
    p.add_argument('--no-embed', action='store_true', help="do not update M3's README")
    p.add_argument('--fresh', action='store_true', help='retrain every student row')
    args = p.parse_args(argv)
    if min(args.epochs, args.teacher_epochs, args.scale, args.batch_size) < 1:
        p.error('--epochs, --teacher-epochs, --scale and --batch-size must be >= 1')
    if not 0 < args.percent < 100:
        p.error('--percent must be in (0, 100)')
    check_seeds(p, args)
    return args


def main(argv=None):
    args = parse_args(argv)
    os.chdir(ROOT)
    command = command_line('semi_kd.py', argv)
    work = osp.join(args.work_dir, 'semi', f'x{args.scale}')
    os.makedirs(work, exist_ok=True)
    num_train = 800 * args.scale

    log(f'[1/5] toy detection data, {args.percent:g}% labeled splits')
    dataset, data_root = make_toy_det(args.scale, work)
    num_labeled = {s: make_split(data_root, args.percent, s, work) for s in args.seeds}
    iters = args.epochs * math.ceil(num_train / args.batch_size)

    log(f'[2/5] teacher, {args.teacher_epochs} epochs (cached)')
    teacher = train_once(
        'teacher', TEACHER,
        osp.join(args.work_dir, 'det', f'x{args.scale}', f'teacher-e{args.teacher_epochs}'),
        args.teacher_epochs, 0, data_options(data_root, args.batch_size))
    t_ckpt = teacher['checkpoint']

    log(f'[3/5] students, {iters} iterations each, seeds {args.seeds}')
    runs = {}
    for name in [n for n in ROWS if n in args.rows]:
        cfg, kind, extra = ROWS[name]
        runs[name] = []
        for seed in args.seeds:
            opts = row_options(kind, data_root, args.percent, seed, args.batch_size)
            opts += extra
            per_epoch = math.ceil((num_labeled[seed] if kind == 'labeled' else
                                   num_train) / args.batch_size)
            epochs = max(1, round(iters / per_epoch))
            runs[name].append(train_once(
                f'{name} s{seed}', cfg,
                osp.join(work, 'runs', f'{name.replace(":", "_")}-s{seed}'), epochs,
                seed, opts, teacher_ckpt=t_ckpt if cfg != STUDENT else None,
                fresh=args.fresh, iters=iters if kind == 'semi' else None))

    cost = None
    if 'M3' in args.rows:
        log('[4/5] cost of a labeled and an unlabeled image in an M3 step')
        cost_json = osp.join(work, 'cost.json')
        run([sys.executable, 'tools/benchmark/semi_cost.py', M3, '--teacher-ckpt',
             t_ckpt, '--iters', str(args.cost_iters), '--json', cost_json,
             '--cfg-options', *row_options('semi', data_root, args.percent,
                                           args.seeds[0], args.batch_size)],
            osp.join(work, 'cost.log'), 'cost')
        with open(cost_json) as f:
            cost = json.load(f)

    log('[5/5] results')
    rows = build_rows(teacher, runs, cost, args.percent)
    checks = verdicts(rows, cost) if set(args.rows) == set(ROWS) else []
    meta = dict(dataset=dataset, machine=args.machine, command=command,
                date=datetime.date.today().isoformat(), seeds=args.seeds, iters=iters,
                batch_size=args.batch_size, teacher_epochs=args.teacher_epochs,
                cost=cost or dict(seconds_per_labeled_image=float('nan'),
                                  seconds_per_unlabeled_image=float('nan')),
                peak_mem_kind=teacher['peak_mem_kind'])
    key = f'semi-supervised-{dataset}-{args.machine}'
    result = dict(task='semi-supervised', dataset=dataset, machine=args.machine,
                  command=command, date=meta['date'], metric='bbox_mAP',
                  seeds=args.seeds, rows=rows,
                  settings=dict(iters=iters, percent_labeled=args.percent,
                                labeled_per_seed=num_labeled, scale=args.scale,
                                batch_size=args.batch_size,
                                teacher_epochs=args.teacher_epochs,
                                teacher_config=TEACHER,
                                configs={n: ROWS[n][0] for n in args.rows},
                                extra_options={n: ROWS[n][2] for n in args.rows
                                               if ROWS[n][2]}, cost=cost),
                  targets=[dict(target=t, met=ok, value=v) for t, ok, v in checks])
    write_json(osp.join(args.out, 'results', f'{key}.json'), result)
    table = markdown(meta, rows, checks)
    with open(osp.join(args.out, f'{key}.md'), 'w') as f:
        f.write(table)
    plot(osp.join(args.out, f'{key}.png'), rows,
         f'{dataset} on {args.machine}: student bbox mAP, {args.percent:g}% labeled',
         ours=('M2', 'M3'))
    if not args.no_embed:
        embed(README, key, table)
    log('')
    log(table)
    return result


if __name__ == '__main__':
    main()
