"""The toy distillation chain end to end, on 2 CPU cores in about 12 minutes.

    make demo                     # = python tools/demo.py (after installing)
    python tools/demo.py --epochs 4 --fresh

1. makes the toy detection data (data/toy_det, seeded),
2. trains a teacher (YOLOv3, MobileNetV2 w1.0) and a student without KD (w0.25),
3. distils the student from the teacher with MMRazor's channel-wise distillation (CWD),
4. exports the distilled student as a plain mmdet model and evaluates all three with
   ``mim test mmdet`` (bbox mAP on the toy test split),
5. prints a table: teacher / student / distilled student mAP and wall times.

Trained checkpoints are reused on a second run unless ``--fresh`` is given.
"""
import argparse
import json
import os
import os.path as osp
import shutil
import subprocess
import sys
import time

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from _jobs import ROOT, last_bbox_metrics, log, run, schedule_options  # noqa: E402

CFG = {
    'teacher': 'configs/detectors/yolov3_mobilenetv2-w100_8xb8-12e_toy-det.py',
    'student': 'configs/detectors/yolov3_mobilenetv2-w025_8xb8-12e_toy-det.py',
    'cwd': 'configs/mmrazor_cwd/cwd_neck_yolov3-mbv2-w100_yolov3-mbv2-w025_toy-det.py',
}
def train(name, work, epochs, fresh, extra=()):
    out = osp.join(work, name)
    ckpt = osp.join(out, f'epoch_{epochs}.pth')
    if osp.isfile(ckpt) and not fresh:
        log(f'  [{name}] reusing {ckpt} (pass --fresh to retrain)')
        return ckpt, 0.0
    if fresh and osp.isdir(out):
        shutil.rmtree(out)
    cmd = [sys.executable, 'tools/train.py', CFG[name], '--work-dir', out,
           *extra, '--cfg-options', *schedule_options(epochs)]
    secs, _ = run(cmd, osp.join(work, f'{name}.train.log'), name, epochs)
    if not osp.isfile(ckpt):
        raise SystemExit(f'{name}: training finished but {ckpt} is missing')
    return ckpt, secs


def mim_test(codebase, config, ckpt, work, tag):
    mim = osp.join(osp.dirname(sys.executable), 'mim')
    cmd = [mim, 'test', codebase, config, '--checkpoint', ckpt,
           '--work-dir', osp.join(work, f'test_{tag}')]
    logfile = osp.join(work, f'{tag}.test.log')
    secs, _ = run(cmd, logfile, f'test {tag}')
    with open(logfile) as f:
        found = last_bbox_metrics(f.read())
    if found is None:
        raise SystemExit(f'test {tag}: no bbox mAP in {logfile}')
    return found[0], found[1], secs


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--epochs', type=int, default=8,
                        help='epochs for each of the three trainings (default 8)')
    parser.add_argument('--work-dir', default='work_dirs/demo')
    parser.add_argument('--data', default='data/toy_det')
    parser.add_argument('--fresh', action='store_true', help='retrain everything')
    args = parser.parse_args(argv)
    if args.epochs < 1:
        parser.error('--epochs must be >= 1')
    os.chdir(ROOT)
    work = args.work_dir
    os.makedirs(work, exist_ok=True)
    t_start = time.time()
    times = {}

    log('[1/5] toy detection data')
    t0 = time.time()
    subprocess.run([sys.executable, 'tools/make_toy_data.py', 'det', '--out', args.data],
                   check=True, cwd=ROOT)
    times['data'] = time.time() - t0
    if osp.normpath(args.data) != osp.normpath('data/toy_det'):
        raise SystemExit('--data other than data/toy_det needs config overrides; '
                         'use tools/train.py with --cfg-options for that')

    log(f'[2/5] teacher: YOLOv3 MobileNetV2 w1.0, {args.epochs} epochs')
    t_ckpt, times['teacher'] = train('teacher', work, args.epochs, args.fresh)
    log(f'[3/5] student without KD: YOLOv3 MobileNetV2 w0.25, {args.epochs} epochs')
    s_ckpt, times['student'] = train('student', work, args.epochs, args.fresh)
    log(f'[4/5] student distilled with MMRazor CWD on the neck, {args.epochs} epochs')
    d_ckpt, times['cwd'] = train('cwd', work, args.epochs, args.fresh,
                                 extra=['--teacher-ckpt', t_ckpt])

    log('[5/5] export the distilled student and evaluate with mim test')
    export_dir = osp.join(work, 'export')
    run([sys.executable, 'tools/export_student.py', d_ckpt, '--config', CFG['cwd'],
         '--out', export_dir], osp.join(work, 'export.log'), 'export')
    log(f'  [export] {export_dir}/student.pth + student.py')
    rows = []
    for key, tag, cfg, ckpt in (
            ('teacher', 'teacher', CFG['teacher'], t_ckpt),
            ('student', 'student (no KD)', CFG['student'], s_ckpt),
            ('cwd', 'student + MMRazor CWD', osp.join(export_dir, 'student.py'),
             osp.join(export_dir, 'student.pth'))):
        m, m50, secs = mim_test('mmdet', cfg, ckpt, work, key)
        rows.append((tag, m, m50, times.get(key, 0.0), secs))
    total = time.time() - t_start

    log('')
    log(f'Toy detection ({args.epochs} epochs each, 800 train images, bbox mAP on the '
        '200 test images, 160 px, CPU)')
    log('| model                  | bbox mAP | AP50  | train time | test time |')
    log('|------------------------|---------:|------:|-----------:|----------:|')
    for tag, m, m50, tt, ts in rows:
        tt_s = f'{tt / 60:.1f} min' if tt else 'reused'
        log(f'| {tag:<22} | {m:8.3f} | {m50:.3f} | {tt_s:>10} | {ts:7.0f} s |')
    log(f'wall time {total / 60:.1f} min (data {times["data"]:.0f} s)')
    summary = dict(epochs=args.epochs, wall_time_s=round(total, 1),
                   rows=[dict(name=r[0], bbox_mAP=r[1], AP50=r[2], train_s=round(r[3], 1),
                              test_s=round(r[4], 1)) for r in rows])
    with open(osp.join(work, 'summary.json'), 'w') as f:
        json.dump(summary, f, indent=2)
    return summary


if __name__ == '__main__':
    main()
