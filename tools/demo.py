"""The toy detection distillation end to end: teacher, no-KD student, MMRazor CWD and the
project's best detection method, on 2 CPU cores in under 15 minutes.

    make demo                     # = python tools/demo.py (after installing)
    python tools/demo.py --fresh  # retrain everything
    python tools/demo.py --fresh --readme   # ... and write the README's demo table

1. makes the calibrated toy detection data (data/toy_det; the generator of the protocol
   v2 detection benchmark, fewer images),
2. trains the teacher (YOLOv3, MobileNetV2 w1.0) on both cores,
3. distils two students (w0.25) at once, one core each: MMRazor's channel-wise
   distillation (CWD) and the best of M1 / M2 / M4 on the published detection table,
   each at the loss weights that table chose on val,
4. trains the student without KD,
5. exports the distilled students as plain mmdet models and evaluates all four with
   ``mim test mmdet`` (bbox mAP on the toy test split),
6. draws the four models' detections on a few val images (a PNG, path printed),
7. prints the table and says whether it matches the README's.

A trained checkpoint is reused on a second run when it was trained with the same
settings (the demo's fingerprint); ``--fresh`` retrains.
"""
import argparse
import functools
import hashlib
import json
import os
import os.path as osp
import re
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from _jobs import (ROOT, last_bbox_metrics, load_benchmark, log, run,  # noqa: E402
                   schedule_options, write_text)

# Everything that decides the demo's numbers (with the configs, the chosen loss weights
# and the toy data generator: see fingerprint()). Times on the 2-core machine: see the
# README's table.
DEMO = dict(data=dict(num_train=800, num_val=100, num_test=200), teacher_epochs=6,
            student_epochs=4, seed=0)
DATA = 'data/toy_det'  # the configs' data_root
TEACHER = 'configs/detectors/yolov3_mobilenetv2-w100_8xb8-12e_toy-det.py'
STUDENT = 'configs/detectors/yolov3_mobilenetv2-w025_8xb8-12e_toy-det.py'
TABLE = 'benchmarks/results/detection-toy-det-cpu2.json'  # the published v2 table
CANDIDATES = ('M1', 'M2', 'M4')
DATA_SOURCES = ('kd_plugins/datasets/toy/common.py', 'kd_plugins/datasets/toy/det.py')
README = 'README.md'
BEGIN = re.compile(r'<!-- demo-table: written by tools/demo.py --readme; settings (\w+); '
                   r'table (\w+) -->\n')
END = '<!-- /demo-table -->'
PICTURE_IMAGES = 3


def published_rows(table=TABLE):
    """``{row name: row}`` of the published detection table."""
    path = osp.join(ROOT, table)
    if not osp.isfile(path):
        raise SystemExit(f'{table}: missing; the demo takes the best method and the loss '
                         'weights from the published detection benchmark')
    with open(path) as f:
        return {r['name']: r for r in json.load(f)['rows']}


def jobs(table=TABLE):
    """``{key: (title, config, cfg options)}`` of the four models, in table order."""
    rows = published_rows(table)
    scored = [n for n in CANDIDATES if rows.get(n, {}).get('mean') is not None]
    if not scored or 'mmrazor:cwd' not in rows:
        raise SystemExit(f'{table}: needs the rows mmrazor:cwd and one of '
                         f'{", ".join(CANDIDATES)} with a mean')
    best = max(scored, key=lambda n: rows[n]['mean'])
    configs = {r.name: r.config for r in load_benchmark('tasks.det').TASK.rows}

    def weights(name):
        return dict(rows[name]['chosen']['loss_weights'])

    return {
        'teacher': ('teacher', TEACHER, {}),
        'student': ('student (no KD)', STUDENT, {}),
        'cwd': ('student + MMRazor CWD', configs['mmrazor:cwd'], weights('mmrazor:cwd')),
        'best': (f'student + {best}', configs[best], weights(best)),
    }


@functools.lru_cache(maxsize=None)
def config_text(cfg):
    """The resolved config (its ``_base_`` files merged) as text."""
    from mmengine.config import Config
    return Config.fromfile(osp.join(ROOT, cfg)).pretty_text


def fingerprint(models):
    """A digest of what decides the numbers: DEMO, each model's resolved config and
    options, the toy data generator's source."""
    h = hashlib.sha256(json.dumps(DEMO, sort_keys=True).encode())
    for key, (title, cfg, opts) in models.items():
        h.update(f'{key}|{title}|{json.dumps(opts, sort_keys=True)}'.encode())
        h.update(config_text(cfg).encode())
    for src in DATA_SOURCES:
        with open(osp.join(ROOT, src), 'rb') as f:
            h.update(f.read())
    return h.hexdigest()[:16]


def digest(text):
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def table_lines(rows, epochs):
    t_ep, s_ep = epochs
    d = DEMO['data']
    lines = [f'Toy detection (teacher {t_ep} epochs, students {s_ep}; {d["num_train"]} '
             f'train images, bbox mAP on the {d["num_test"]} test images, 160 px, CPU)',
             '| model                  | bbox mAP | AP50  | train time | test time |',
             '|------------------------|---------:|------:|-----------:|----------:|']
    for r in rows:
        tt = f'{r["train_s"] / 60:.1f} min' if r['train_s'] else 'reused'
        lines.append(f'| {r["name"]:<22} | {r["bbox_mAP"]:8.3f} | {r["AP50"]:.3f} | '
                     f'{tt:>10} | {r["test_s"]:7.0f} s |')
    return lines


def readme_block(text):
    """``(settings fingerprint, table digest, table text)`` of the README's demo block,
    or None when it has none."""
    m = BEGIN.search(text)
    if not m:
        return None
    end = text.find(END, m.end())
    if end < 0:
        return None
    return m.group(1), m.group(2), text[m.end():end]


def table_numbers(block):
    """``{model: bbox mAP}`` of a demo table."""
    out = {}
    for line in block.splitlines():
        cells = [c.strip() for c in line.strip().strip('|').split('|')]
        if len(cells) == 5 and re.fullmatch(r'[0-9.]+', cells[1]):
            out[cells[0]] = float(cells[1])
    return out


def write_readme(lines, settings, path=README):
    """Put the demo's table (and where it ran) between the README's markers."""
    path = osp.join(ROOT, path)
    with open(path) as f:
        text = f.read()
    found = readme_block(text)
    if found is None:
        raise SystemExit(f'{path}: no demo block (a line "<!-- demo-table: ... -->" '
                         f'and a line "{END}")')
    body = '```\n' + '\n'.join(lines) + '\n```\n'
    m = BEGIN.search(text)
    head = (f'<!-- demo-table: written by tools/demo.py --readme; settings {settings}; '
            f'table {digest(body)} -->\n')
    write_text(path, text[:m.start()] + head + body + text[text.find(END, m.end()):])


def compare_with_readme(rows, settings):
    """Say whether this run printed the README's table."""
    with open(osp.join(ROOT, README)) as f:
        found = readme_block(f.read())
    if found is None:
        log('README: no demo table to compare with')
        return False
    r_settings, _, block = found
    if r_settings != settings:
        log(f'README: its table was made with other settings ({r_settings}, these are '
            f'{settings}); rerun with --fresh --readme to update it')
        return False
    readme = table_numbers(block)
    diffs = [f'{r["name"]}: README {readme.get(r["name"])}, now {r["bbox_mAP"]:.3f}'
             for r in rows if readme.get(r['name']) != round(r['bbox_mAP'], 3)]
    if diffs:
        log('README: same settings, different numbers (another CPU or library build '
            'can round differently): ' + '; '.join(diffs))
        return False
    log('README: the same numbers as its table')
    return True


def train(key, cfg, opts, epochs, work, settings, fresh, threads, extra=()):
    out = osp.join(work, key)
    ckpt = osp.join(out, f'epoch_{epochs}.pth')
    stamp = osp.join(out, 'demo_settings')
    if not fresh and osp.isfile(ckpt) and osp.isfile(stamp):
        with open(stamp) as f:
            if f.read().strip() == settings:
                log(f'  [{key}] reusing {ckpt} (pass --fresh to retrain)')
                return ckpt, 0.0
    if osp.isdir(out):
        shutil.rmtree(out)
    options = schedule_options(epochs, seed=DEMO['seed']) + [
        f'{k}={v!r}' for k, v in opts.items()]
    cmd = [sys.executable, 'tools/train.py', cfg, '--work-dir', out, *extra,
           '--cfg-options', *options]
    secs, _ = run(cmd, osp.join(work, f'{key}.train.log'), key, epochs, threads=threads)
    if not osp.isfile(ckpt):
        raise SystemExit(f'{key}: training finished but {ckpt} is missing')
    with open(stamp, 'w') as f:
        f.write(settings + '\n')
    return ckpt, secs


def mim_test(config, ckpt, work, key):
    mim = osp.join(osp.dirname(sys.executable), 'mim')
    cmd = [mim, 'test', 'mmdet', config, '--checkpoint', ckpt,
           '--work-dir', osp.join(work, f'test_{key}')]
    logfile = osp.join(work, f'{key}.test.log')
    secs, _ = run(cmd, logfile, f'test {key}', threads=2)
    with open(logfile) as f:
        found = last_bbox_metrics(f.read())
    if found is None:
        raise SystemExit(f'test {key}: no bbox mAP in {logfile}')
    return found[0], found[1], secs


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--work-dir', default='work_dirs/demo')
    parser.add_argument('--fresh', action='store_true', help='retrain everything')
    parser.add_argument('--readme', action='store_true',
                        help="write this run's table into README.md")
    args = parser.parse_args(argv)
    os.chdir(ROOT)
    work = args.work_dir
    os.makedirs(work, exist_ok=True)
    t_start = time.time()
    models = jobs()
    settings = fingerprint(models)
    times = {}

    log(f'[1/6] calibrated toy detection data ({DATA}; settings {settings})')
    t0 = time.time()
    d = DEMO['data']
    subprocess.run([sys.executable, 'tools/make_toy_data.py', 'det', '--out', DATA,
                    '--num-train', str(d['num_train']), '--num-val', str(d['num_val']),
                    '--num-test', str(d['num_test']), '--overwrite'], check=True, cwd=ROOT)
    times['data'] = time.time() - t0

    t_ep, s_ep = DEMO['teacher_epochs'], DEMO['student_epochs']
    log(f'[2/6] teacher: YOLOv3 MobileNetV2 w1.0, {t_ep} epochs, 2 threads')
    ckpts = {}
    ckpts['teacher'], times['teacher'] = train(
        'teacher', TEACHER, {}, t_ep, work, settings, args.fresh, 2)
    best = models['best'][0].split(' + ')[1]
    log(f'[3/6] two distilled students (w0.25, {s_ep} epochs, one thread each): '
        f'MMRazor CWD and {best}')
    with ThreadPoolExecutor(2) as pool:
        futures = {key: pool.submit(train, key, models[key][1], models[key][2], s_ep, work,
                                    settings, args.fresh, 1,
                                    ['--teacher-ckpt', ckpts['teacher']])
                   for key in ('cwd', 'best')}
        for key, fut in futures.items():
            ckpts[key], times[key] = fut.result()
    log(f'[4/6] student without KD, {s_ep} epochs, 2 threads')
    ckpts['student'], times['student'] = train(
        'student', STUDENT, {}, s_ep, work, settings, args.fresh, 2)

    log('[5/6] export the distilled students and evaluate the four with mim test')
    tested = {'teacher': (TEACHER, ckpts['teacher']),
              'student': (STUDENT, ckpts['student'])}
    for key in ('cwd', 'best'):
        export_dir = osp.join(work, f'export_{key}')
        run([sys.executable, 'tools/export_student.py', ckpts[key], '--config',
             models[key][1], '--out', export_dir], osp.join(work, f'export_{key}.log'),
            f'export {key}')
        tested[key] = (osp.join(export_dir, 'student.py'),
                       osp.join(export_dir, 'student.pth'))
    rows = []
    for key in ('teacher', 'student', 'cwd', 'best'):
        m, m50, secs = mim_test(*tested[key], work, key)
        rows.append(dict(name=models[key][0], bbox_mAP=m, AP50=m50,
                         train_s=round(times[key], 1), test_s=round(secs, 1)))

    log(f'[6/6] detections of the four models on {PICTURE_IMAGES} val images')
    picture = osp.join(work, 'detections.png')
    run([sys.executable, 'tools/demo_picture.py', '--out', picture, '--data', DATA,
         '--images', str(PICTURE_IMAGES), *[
             a for key in ('teacher', 'student', 'cwd', 'best')
             for a in ('--model', models[key][0], *tested[key])]],
        osp.join(work, 'picture.log'), 'picture', threads=2)
    total = time.time() - t_start

    lines = table_lines(rows, (t_ep, s_ep))
    log('')
    for line in lines:
        log(line)
    log(f'wall time {total / 60:.1f} min (data {times["data"]:.0f} s)')
    log(f'detections: {osp.abspath(picture)}')
    same = compare_with_readme(rows, settings)
    if args.readme:
        write_readme(lines + [f'wall time {total / 60:.1f} min'], settings)
        log(f'{README}: demo table written (settings {settings})')
    summary = dict(settings=settings, demo=DEMO, wall_time_s=round(total, 1),
                   matches_readme=same, picture=picture, rows=rows)
    with open(osp.join(work, 'summary.json'), 'w') as f:
        json.dump(summary, f, indent=2)
    return summary


if __name__ == '__main__':
    main()
