"""Data-free classification: M7 against MMRazor's DAFL and DFAD on the toy
classification pair; the student row is trained on the real images (the reference), the
teacher and that student are cls's (the same cached runs).

    python tools/benchmark/run.py datafree

Sweep keys: each config's ``sweep_weights`` (why those: the configs' comments).
Same student-step budget for every row: M7 and DFAD make 5 student steps per
iteration, DAFL one.
"""
from ..spec import Row, Schedule, Task

from . import cls

PAIR = cls.PAIR
# M7 / DFAD iterations (x5 student steps); DAFL: x5 iterations of one step. 200, the M7
# config's own default: on one core a no-KD step of the toy pair takes 0.078 s and, by the
# v1 table's ratios, an M7 iteration about 13x that, DFAD 12x, a DAFL one 4.8x, so M7 and
# DFAD runs take 3-4 minutes and DAFL's 1000 one-step iterations about 6 (at 600, as in
# v1, 10-19 minutes a run: 18 runs would not fit the suite's budget).
ITERS = 200
STUDENT_ITER = 5
MMRAZOR_TEACHER = {'model.teachers.teacher.ckpt_path': 'teacher'}


def data_free_options(root):
    """Only evaluation loaders: the training loader is the configs' placeholder."""
    return cls.eval_options(root)


def iters(n):
    return Schedule(n, 'iter', decay=0, decay_keys=('end', 'T_max'), smoke=10)


TASK = Task(
    name='datafree', task='data-free', dataset='toy-cls', metric='top1', data=cls.DATA,
    base_options=cls.base_options, split_options=cls.split_options,
    read_metrics=cls.read_metrics, teachers=(cls.TEACHER_RUN,), schedule=cls.EPOCHS,
    rows=(
        cls.STUDENT_ROW,
        Row('M7', f'configs/dual_generator/m7_{PAIR}', {'model.teacher_ckpt': 'teacher'},
            base_options=data_free_options, schedule=iters(ITERS),
            readme='configs/dual_generator'),
        # ablation (issue 19): the hard-sample generator alone
        Row('M7-one_generator', f'configs/dual_generator/m7-one-generator_{PAIR}',
            {'model.teacher_ckpt': 'teacher'}, base_options=data_free_options,
            schedule=iters(ITERS), note='M7 with its hard-sample generator G1 only'),
        Row('mmrazor:dafl', f'configs/mmrazor_dafl/dafl_{PAIR}', MMRAZOR_TEACHER,
            base_options=data_free_options, schedule=iters(ITERS * STUDENT_ITER)),
        Row('mmrazor:dfad', f'configs/mmrazor_dfad/dfad_{PAIR}', MMRAZOR_TEACHER,
            base_options=data_free_options, schedule=iters(ITERS)),
    ),
    checks=cls.CHECKS, timing_iters=6, minutes_per_run=4.0,
    notes=f'No real training image is read by M7 / DAFL / DFAD (the val and test splits '
    f'only evaluate): {ITERS * STUDENT_ITER} student steps of 32 generated images each '
    f'(M7 and DFAD {ITERS} iterations of {STUDENT_ITER} student steps, DAFL '
    f'{ITERS * STUDENT_ITER} of one), so time/iter compares an M7 / DFAD iteration (its '
    f'generator steps and {STUDENT_ITER} student steps) or a DAFL one (one of each) with '
    'one no-KD step on real images. Per-class values: recall of each class.')
