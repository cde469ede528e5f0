"""Metric learning: M8 (mutual: the teacher guides, the student's feedback trains the
teacher too) against MMRazor's one-way relational KD (RKD) on the toy retrieval data
(class-disjoint train / val / test classes), WRN-16-2 512-d -> resnet8 at half width,
128-d.

    python tools/benchmark/run.py retrieval

The teacher is trained on every reporting seed (its seed spread is a calibration check);
the rows distil from the seed-0 teacher. ``M8-teacher``: M8's teacher after each M8 run,
exported and tested (no training of its own).
"""
from ..spec import (TEACHER, Data, Row, Schedule, Task, Teacher, data_classes, last_eval,
                    loader_roots, run_minutes, student_std, teacher_minus_student,
                    teacher_std)

PAIR = 'wrn-16-2-512d_resnet8x0.5-128d_toy-retrieval.py'
KEYS = ('R@2', 'R@4', 'R@8', 'NMI')
# 32 px images (WRN-16-2's CIFAR size): at 64 px a WRN-16-2 step took 1.1 s on one
# core, so M8 (both networks train) had ~230 steps in 5 minutes; at 32 px 0.27 s. 40
# train classes x 30 images at batch 32: 37 steps per epoch, 20 epochs. Measured so (2
# cores, one run at a time): teacher test R@1 0.840 / 0.818 / 0.820 (std 0.012; at 64 px
# with 20 classes the v1 teacher moved 13 points between two seeds), 4.5 minutes a run;
# no-KD resnet8 student 0.745 / 0.795 / 0.765: the gap (0.06) is NOT the 0.15 asked for.
# Student recalibrated on val (seed-0 teacher 0.793): resnet8 0.743 / 0.705; resnet8 at
# half width 0.647 / 0.585 / 0.640 / 0.682 (gap 0.155, std 0.04) after 20 epochs, 0.698 /
# 0.688 after 40 (gap 0.10): the half-width student at 20 epochs is the student now (the
# student std check may not be met; a longer schedule closes the gap).
DATA = Data('retrieval', 'data/bench/toy_retrieval', sizes={'--imgs-per-class': 30},
            fixed={'--train-classes': 40, '--val-classes': 20, '--test-classes': 20,
                   '--img-size': 32})
EPOCHS = Schedule(20, 'epoch', decay=1, smoke=2)


GUIDE_WEIGHT = 'model.guide_loss.loss_weight'
# the ablations of M8 (issue 21): no feedback, the teacher frozen (one-way) or fine-tuned
NO_FEEDBACK_FROZEN = {'model.feedback_loss': None, 'model.teacher_trainable': False}
NO_FEEDBACK_TUNED = {'model.feedback_loss': None}


def base_options(root):
    return dict(loader_roots(root, workers=1), **{
        'default_hooks.logger.interval': 12, 'default_hooks.checkpoint.max_keep_ckpts': 1})


def split_options(root, split, loader):
    return {f'{loader}_dataloader.dataset.ann_file': f'{split}.txt'}


def read_metrics(text, run_dir):
    found = last_eval(text)
    if not found or 'retrieval/R@1' not in found:
        return None
    return dict(value=found['retrieval/R@1'] / 100,
                extra={k: found[f'retrieval/{k}'] / 100 for k in KEYS
                       if f'retrieval/{k}' in found})


TASK = Task(
    name='retrieval', task='retrieval', dataset='toy-retrieval', metric='R@1', data=DATA,
    base_options=base_options, split_options=split_options, read_metrics=read_metrics,
    teachers=(Teacher('teacher', 'configs/metric_embedders/wrn-16-2-512d_toy-retrieval.py',
                      EPOCHS, report_seeds=True), ),
    schedule=EPOCHS, secondary=('NMI', ),
    rows=(
        Row('student', 'configs/metric_embedders/resnet8x0.5-128d_toy-retrieval.py'),
        Row('mmrazor:rkd', f'configs/mmrazor_rkd/rkd_{PAIR}', TEACHER),
        Row('M8', f'configs/mutual_metric/m8_{PAIR}', TEACHER, readme='configs/mutual_metric'),
        Row('M8-teacher', derived_from='M8'),
        Row('M8-similarity_kl', f'configs/mutual_metric/m8-similarity-kl_{PAIR}', TEACHER,
            note='experiment: the two-way KL of the batch neighbour distributions '
            '(deep mutual learning on the embeddings, MutualSimilarityKLLoss, tau 0.1) in '
            'place of the relational terms, guide and gated feedback'),
        Row('M8-last_stage', f'configs/mutual_metric/m8_{PAIR}', TEACHER,
            options={'model.teacher.backbone.frozen_stages': 2},
            note="experiment: the teacher fine-tunes only its last stage and embedding "
            "layer (stem and stages 1-2 frozen, WideResNet frozen_stages=2): a slower "
            "teacher the feedback can move less, and a third of its backward"),
        Row('M8-no_feedback', f'configs/mutual_metric/m8_{PAIR}', TEACHER,
            options=NO_FEEDBACK_FROZEN, sweep_keys=(GUIDE_WEIGHT, ),
            note="one-way: M8's guide from the frozen teacher, no feedback"),
        Row('M8-no_feedback_tuned', f'configs/mutual_metric/m8_{PAIR}', TEACHER,
            options=NO_FEEDBACK_TUNED, sweep_keys=(GUIDE_WEIGHT, ),
            note="M8's guide; the teacher fine-tuned as in M8 (its own task loss, a tenth "
            'of the learning rate) but without the feedback'),
        # issue 21's "M8-teacher-no-feedback"; the protocol's row names allow no second
        # hyphen in an M8-... row, and only a name ending in -teacher is no distilling row
        Row('baseline:no-feedback-teacher', derived_from='M8-no_feedback_tuned',
            variant_of='M8-teacher',
            note="the teacher of M8-no_feedback_tuned: fine-tuned as in M8 but without "
            "the student's feedback (the control for M8-teacher)"),
    ),
    checks=(
        teacher_std(0.02),
        teacher_minus_student(0.15),
        data_classes('test', 20),
        student_std(0.02),
        run_minutes(5.0),
    ),
    timing_iters=12, minutes_per_run=3.0,
    notes='Recall@K: cosine, the query left out of its gallery; NMI: scikit-learn\'s, '
    'of faiss k-means (k-means++, 3 runs) with one cluster per test class. M8-teacher: M8 fine-tunes the seed-0 teacher (a tenth of '
    "the learning rate, the student's gated feedback); its row is that teacher after "
    'each M8 run (time and memory: the M8 run).')
