"""Detection on other head families: M2 against the no-KD student and MMRazor's CWD on a
toy pair of each family (MobileNetV2 w1.0 -> w0.25 with the family's neck and head), on
det's data, splits, schedules, metric and checks (issue 18: a toy row per head family
proves M2's head adapters train, not only build).

    python tools/benchmark/run.py det-retina     # FPN + RetinaHead (anchor-based)
    python tools/benchmark/run.py det-rtmdet     # CSPNeXt-PAFPN + RTMDetSepBNHead
"""
from ..spec import TEACHER, Row, Task, Teacher
from . import det


def family_task(name, family, dataset, detector, neck):
    """det's task on the toy ``family`` pair (configs named ``<family>_mobilenetv2-
    w100_<neck>_...``); the JSON is detection-<dataset>-<machine>.json."""
    teacher = f'configs/detectors/{family}_mobilenetv2-w100_{neck}_8xb8-12e_toy-det.py'
    pair = f'{family}-mbv2-w100_{family}-mbv2-w025_toy-det.py'
    return Task(
        name=name, task='detection', dataset=dataset, metric='bbox_mAP', data=det.DATA,
        base_options=det.base_options, split_options=det.split_options,
        read_metrics=det.read_metrics,
        teachers=(Teacher('teacher', teacher, det.TEACHER_RUN.schedule),),
        schedule=det.STUDENT_EPOCHS,
        rows=(
            Row('student', teacher.replace('-w100_', '-w025_')),
            Row('M2', f'configs/confidence_guided/m2_{pair}', TEACHER,
                readme='configs/confidence_guided',
                note=f'M2 on {detector}'),
            Row('mmrazor:cwd', f'configs/mmrazor_cwd/cwd_neck_{pair}', TEACHER),
        ),
        checks=det.TASK.checks,
        timing_iters=det.TASK.timing_iters, minutes_per_run=det.TASK.minutes_per_run,
        notes=det.TASK.notes + f' Pair: {detector}, MobileNetV2 w1.0 -> w0.25.')


RETINA = family_task('det-retina', 'retinanet', 'toy-det-retinanet', 'RetinaNet', 'fpn')
RTMDET = family_task('det-rtmdet', 'rtmdet', 'toy-det-rtmdet', 'RTMDet', 'pafpn')
TASKS = (RETINA, RTMDET)
