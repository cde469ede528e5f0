"""Semi-supervised detection: M3 (labeled + unlabeled images) against the student
supervised on the 10 % labeled part, MMRazor CWD and M2 on that part only, and the
student supervised on 100 % (the upper bound); the teacher is det's (same config, data
and options: one cached run for both tasks).

    python tools/benchmark/run.py semi
"""
import dataclasses
import math

from ..spec import TEACHER, Row, Schedule, Task, row_mean, run_minutes, student_std

from . import det

PERCENT = 10  # labeled share of the training images
# every row: as many iterations as det's student
ITERS = det.STUDENT_EPOCHS.length * math.ceil(det.NUM_TRAIN / det.BATCH)
LABELED = round(det.NUM_TRAIN * PERCENT / 100)
LABELED_EPOCHS = Schedule(round(ITERS / math.ceil(LABELED / det.BATCH)), 'epoch', decay=1)
M3 = 'configs/semi_adaptive/m3_yolov3-mbv2-w100_yolov3-mbv2-w025_toy-det-semi10.py'
M3_NO_ADAPTIVE = M3.replace('/m3_', '/m3-no-adaptive_')


def splits(root, seeds):
    """make_toy_data.py arguments of each seed's labeled / unlabeled split files."""
    return [['det-semi', '--ann', f'{root}/annotations/train.json', '--percent', PERCENT,
             '--seed', seed] for seed in seeds]


def labeled_ann(seed, unlabeled=False):
    return f'annotations/train.{seed}@{PERCENT:g}' + ('-unlabeled' if unlabeled else '') \
        + '.json'


def labeled(ctx):
    """Train on the seed's labeled part only."""
    return {'train_dataloader.dataset.ann_file': labeled_ann(ctx.seed)}


def semi_base(root):
    """det's options without the training loader's (M3's is a labeled + unlabeled
    ConcatDataset, set by :func:`both_parts`)."""
    return {k: v for k, v in det.base_options(root).items()
            if not k.startswith('train_dataloader.')}


def both_parts(ctx):
    """Each batch: det.BATCH labeled + det.BATCH unlabeled images of the seed's split."""
    root = ctx.root.rstrip('/') + '/'
    opts = {'train_dataloader.batch_size': 2 * det.BATCH,
            'train_dataloader.sampler.batch_size': 2 * det.BATCH}
    for i, unlabeled in enumerate((False, True)):
        opts[f'train_dataloader.dataset.datasets.{i}.data_root'] = root
        opts[f'train_dataloader.dataset.datasets.{i}.ann_file'] = labeled_ann(ctx.seed,
                                                                              unlabeled)
    return opts


# M3 and its ablation: labeled + unlabeled batches, iterations
M3_SCHEDULE = Schedule(ITERS, 'iter', decay=1, grows_with_data=True, smoke=20)

TASK = Task(
    name='semi', task='semi-supervised', dataset='toy-det', metric='bbox_mAP',
    data=dataclasses.replace(det.DATA, extra=splits),
    base_options=det.base_options, split_options=det.split_options,
    read_metrics=det.read_metrics, teachers=(det.TEACHER_RUN,), schedule=LABELED_EPOCHS,
    rows=(
        Row('student', det.STUDENT_CFG, options=labeled),
        Row('baseline:supervised-100pct', det.STUDENT_CFG, schedule=det.STUDENT_EPOCHS),
        Row('M3', M3, TEACHER, options=both_parts, base_options=semi_base,
            schedule=M3_SCHEDULE,
            readme='configs/semi_adaptive'),
        # ablation (issue 18): M2's plain soft labels on labeled + unlabeled images
        Row('M3-no_adaptive', M3_NO_ADAPTIVE, TEACHER, options=both_parts,
            base_options=semi_base,
            schedule=M3_SCHEDULE,
            note='M3 without the adaptive weighting'),
        # M2 on the labeled part only (validate_bench.py allows no '-' inside a variant)
        Row('M2-labeled', f'configs/confidence_guided/m2_{det.PAIR}', TEACHER,
            options=labeled),
        Row('mmrazor:cwd', f'configs/mmrazor_cwd/cwd_neck_{det.PAIR}', TEACHER,
            options=labeled),
    ),
    checks=(
        row_mean('student_map', 'student', 0.10,
                 f'{PERCENT} %-labeled supervised student bbox mAP on test'),
        student_std(0.01),
        run_minutes(5.0),
    ),
    timing_iters=12, minutes_per_run=4.0,
    notes=f'`student`: supervised on the {PERCENT} % labeled part (the split of each '
    f'seed: tools/make_toy_data.py det-semi); every row {ITERS} iterations at batch '
    f'{det.BATCH} (M3: {det.BATCH} labeled + {det.BATCH} unlabeled images per batch).')
