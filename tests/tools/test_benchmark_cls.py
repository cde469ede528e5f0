"""The classification benchmark tool: log parsing, rows, targets, arguments, timing."""
import json
import os.path as osp
import subprocess
import sys

import pytest

from conftest import ROOT, cls_data_options, load_benchmark_tool, subprocess_env

LOG = """\
11/25 00:40:50 - mmengine - INFO - Epoch(train) [10][10/32]  lr: 3.9e-02  eta: 0:01:24  \
time: 0.1000  data_time: 0.0082  loss: 1.1102
11/25 00:40:50 - mmengine - INFO - Epoch(train) [10][20/32]  lr: 3.9e-02  eta: 0:01:24  \
time: 0.3000  data_time: 0.0082  loss: 1.1102
11/25 00:40:50 - mmengine - INFO - Epoch(train) [10][30/32]  lr: 3.9e-02  eta: 0:01:24  \
time: 0.2000  data_time: 0.0082  loss: 1.1102
11/25 00:40:51 - mmengine - INFO - Epoch(val) [5][4/4]    accuracy/top1: 57.5000  \
data_time: 0.0194  time: 0.0801
11/25 00:40:51 - mmengine - INFO - Epoch(val) [10][4/4]    accuracy/top1: 61.2500  \
data_time: 0.0194  time: 0.0801
"""


def result(top1, secs=None):
    res = dict(top1=top1, train_seconds=10.0, peak_mem_mb=900.0,
               peak_mem_kind='process_max_rss')
    if secs is not None:
        res['seconds_per_iter'] = secs
    return res


def test_log_parsing(tmp_path):
    tool = load_benchmark_tool('cls_kd')
    assert tool.top1_metrics(LOG) == dict(top1=pytest.approx(0.6125))
    assert tool.top1_metrics('no evaluation') is None
    (tmp_path / 'train.log').write_text(LOG)
    # the training lines' `time:` (not data_time, not the val line's)
    assert tool.logged_seconds_per_iter(str(tmp_path)) == pytest.approx(0.2)


def test_m5_rows_and_target():
    tool = load_benchmark_tool('cls_kd')
    teacher = result(0.85)
    runs = {'student': [result(0.70), result(0.72)],
            'baseline:kd': [result(0.74), result(0.74)],
            'mmrazor:at': [result(0.72), result(0.73)],
            'mmrazor:cwd': [result(0.73), result(0.71)],
            'M5': [result(0.75), result(0.755)]}
    names = [n for n in runs if n != 'student']
    timing = dict(time_per_iter_ratio={n: 1.5 for n in names},
                  overhead_vs_floor={n: 1.1 for n in names})
    rows = tool.m5_rows(teacher, runs, timing)
    by = {r['name']: r for r in rows}
    assert list(by) == ['teacher', 'student', *names]
    assert by['M5']['mean'] == pytest.approx(0.7525)
    assert by['M5']['extra']['delta_vs_student'] == pytest.approx(0.0425)
    assert by['M5']['time_per_iter_ratio'] == 1.5
    (text, ok, value), = tool.m5_verdicts(rows)
    # +1.25 points over the best baseline (KD, 0.74): met; at +0.5 it is not
    assert ok and '(baseline:kd)' in text and value == '+1.25 points'
    runs['M5'] = [result(0.745), result(0.745)]
    assert not tool.m5_verdicts(tool.m5_rows(teacher, runs, timing))[0][1]


def test_m7_rows_and_targets():
    tool = load_benchmark_tool('cls_kd')
    teacher = result(0.80)
    student = [result(0.70, 0.05), result(0.72, 0.05)]
    runs = {'M7': [result(0.66, 0.2), result(0.64, 0.2)],
            'mmrazor:dafl': [result(0.50, 0.1), result(0.52, 0.1)],
            'mmrazor:dfad': [result(0.60, 0.1), result(0.70, 0.1)]}
    rows = tool.m7_rows(teacher, student, runs)
    by = {r['name']: r for r in rows}
    assert by['M7']['extra']['fraction_of_teacher'] == pytest.approx(0.8125)
    assert by['M7']['extra']['real_training_images'] == 0
    assert by['M7']['time_per_iter_ratio'] == pytest.approx(4.0)
    checks = tool.m7_verdicts(rows)
    assert [ok for _, ok, _ in checks] == [True, True, False]  # DFAD 0.65 == M7 0.65


def test_markdown_and_document(tmp_path):
    tool = load_benchmark_tool('cls_kd')
    rows = tool.m7_rows(result(0.8), [result(0.7, 0.05)],
                        {n: [result(0.6, 0.1)] for n in tool.M7_ROWS})
    checks = tool.m7_verdicts(rows)
    meta = dict(command='python tools/benchmark/cls_kd.py', date='2026-11-25',
                dataset='toy-cls')
    table = tool.markdown('Title', meta, rows, checks, ['note'])
    assert '| M7 | 60.00 ± 0.00 | 60.0 | -10.00 pt | 2.0 |' in table
    assert 'NOT met: M7 (zero real images) reaches >= 80 %' in table

    class Args:
        out, machine, seeds, no_embed = str(tmp_path), 'cpu2', [0], True
    tool.publish(Args, 'data-free', meta, rows, checks, {}, table, [])
    doc = json.load(open(tmp_path / 'results' / 'data-free-toy-cls-cpu2.json'))
    assert doc['task'] == 'data-free' and doc['metric'] == 'top1'
    assert [r['name'] for r in doc['rows']] == ['teacher', 'student', *tool.M7_ROWS]
    assert osp.isfile(tmp_path / 'data-free-toy-cls-cpu2.png')


@pytest.mark.parametrize('args, msg', [(['--seeds', '1', '1'], '--seeds must be distinct'),
                                       (['--df-iters', '0'], 'must be >= 1'),
                                       (['--part', 'm6'], 'invalid choice')])
def test_bad_arguments_are_refused(args, msg):
    res = subprocess.run([sys.executable, 'tools/benchmark/cls_kd.py', *args], cwd=ROOT,
                         env=subprocess_env(), capture_output=True, text=True)
    assert res.returncode == 2 and msg in res.stderr


@pytest.mark.slow
def test_iter_timing_times_the_m5_rows(toy_cls_root, tmp_path):
    """The tool's timing step on the real classification configs (2 rounds)."""
    tool = load_benchmark_tool('cls_kd')
    import torch
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmrazor.registry import MODELS
    init_default_scope('mmpretrain')
    cfg = osp.join(ROOT, tool.M5_ROWS['M5'][0])
    ckpt = str(tmp_path / 'teacher.pth')
    torch.save({'state_dict': MODELS.build(Config.fromfile(cfg).model.teacher)
                .state_dict()}, ckpt)
    opts = [f'{k}={v}' for k, v in cls_data_options(toy_cls_root, 4).items()]
    out = tmp_path / 'timing.json'
    cmd = [sys.executable, 'tools/benchmark/iter_timing.py', '--student', tool.STUDENT,
           '--teacher-ckpt', ckpt, '--iters', '2', '--warmup', '0', '--json', str(out),
           '--cfg-options', *opts]
    for name in ('M5', 'mmrazor:cwd'):
        cmd += ['--method', f'{name}={tool.M5_ROWS[name][0]}']
    res = subprocess.run(cmd, cwd=ROOT, env=subprocess_env(), capture_output=True,
                         text=True, timeout=600)
    assert res.returncode == 0, (res.stdout + res.stderr)[-3000:]
    timing = json.load(open(out))
    assert set(timing['time_per_iter_ratio']) == {'M5', 'mmrazor:cwd'}
    assert timing['teacher_without_autograd'] == {'M5': True, 'mmrazor:cwd': True}
    assert timing['floor_seconds'] > timing['seconds_per_iter']['student'] > 0
