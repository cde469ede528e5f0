"""The segmentation benchmark tool: log parsing, rows, targets, JSON, arguments."""
import json
import re
import subprocess
import sys

import pytest

from conftest import ROOT, load_benchmark_tool, subprocess_env

ROW_NAME = re.compile(
    r'^(teacher|student|M[1-8](-teacher)?|(mmrazor|baseline):[\w.+-]+)$')
LOG = """\
11/25 03:21:06 - mmengine - INFO - Iter(train) [30/30]  lr: 1.2e-03  eta: 0:00:00  \
time: 0.1672  data_time: 0.0059  loss: 0.9571
11/25 03:21:08 - mmengine - INFO - Iter(val) [100/100]    aAcc: 75.3600  mIoU: 25.1200  \
mAcc: 33.3300  mDice: 28.6500  bF: 0.0000  bF.background: 0.0000  data_time: 0.0018
11/25 03:29:08 - mmengine - INFO - Iter(val) [100/100]    aAcc: 95.3600  mIoU: 81.5000  \
mAcc: 88.3300  mDice: 89.2500  bF: 70.1000  bF.background: 80.0000  data_time: 0.0018
"""


def result(miou, dice=0.8, bf=0.6):
    return dict(miou=miou, dice=dice, boundary_f=bf, train_seconds=10.0,
                peak_mem_mb=700.0, peak_mem_kind='process_max_rss',
                checkpoint='t.pth')


def test_log_parsing():
    tool = load_benchmark_tool('seg_kd')
    # the last evaluation, as fractions
    assert tool.seg_metrics(LOG) == dict(miou=pytest.approx(0.815),
                                         dice=pytest.approx(0.8925),
                                         boundary_f=pytest.approx(0.701))
    assert tool.seg_metrics('no evaluation') is None


def runs_with(m6_miou, m6_bf):
    return {'student': [result(0.70, bf=0.50), result(0.72, bf=0.52)],
            'mmrazor:cwd': [result(0.73, bf=0.55), result(0.73, bf=0.55)],
            'baseline:equal-weight-multi-teacher': [result(0.72, bf=0.56),
                                                    result(0.74, bf=0.56)],
            'M6': [result(m6_miou, bf=m6_bf), result(m6_miou, bf=m6_bf)]}


def test_rows_and_targets(tmp_path):
    tool = load_benchmark_tool('seg_kd')
    teachers = {'unet-c32': result(0.85), 'deeplabv3-r18-d8': result(0.80)}
    secs = {'student': 0.2, 'mmrazor:cwd': 0.4,
            'baseline:equal-weight-multi-teacher': 0.6, 'M6': 0.7}
    rows = tool.make_rows(teachers, 'unet-c32', runs_with(0.75, 0.60), secs)
    by = {r['name']: r for r in rows}
    assert list(by) == ['teacher', 'student', 'mmrazor:cwd',
                        'baseline:equal-weight-multi-teacher', 'M6']
    assert by['teacher']['mean'] == 0.85
    assert by['teacher']['extra']['other_teachers']['deeplabv3-r18-d8']['miou'] == 0.80
    assert by['M6']['extra']['delta_miou_vs_student'] == pytest.approx(0.04)
    assert by['M6']['extra']['boundary_f'] == pytest.approx(0.60)
    assert by['M6']['time_per_iter_ratio'] == pytest.approx(3.5)
    checks = tool.verdicts(rows)
    assert [ok for _, ok, _ in checks] == [True, True, True]
    # +1.0 mIoU over no-KD, below the equal-weight row's boundary F: three misses
    rows = tool.make_rows(teachers, 'unet-c32', runs_with(0.72, 0.55), secs)
    assert [ok for _, ok, _ in tool.verdicts(rows)] == [False, False, False]
    # the JSON follows ../shared/BENCHMARKS.md (checked by the shared validator)
    import argparse
    args = argparse.Namespace(out=str(tmp_path), machine='cpu2', seeds=[0, 1],
                              no_embed=True)
    meta = dict(dataset='toy-seg', command='python tools/benchmark/seg_kd.py',
                date='2026-11-25')
    table = tool.markdown('title', meta, rows, checks, ['note'])
    assert '| M6 | 72.00 ± 0.00 |' in table
    tool.publish(args, meta, rows, checks, {}, table)
    path = tmp_path / 'results' / 'segmentation-toy-seg-cpu2.json'
    data = json.loads(path.read_text())
    assert data['task'] == 'segmentation' and data['metric'] == 'mIoU'
    assert data['seeds'] == [0, 1] and len(data['rows']) == 5
    for r in data['rows']:
        assert ROW_NAME.match(r['name'])
        assert r['mean'] == pytest.approx(sum(r['per_seed']) / len(r['per_seed']),
                                          abs=1e-4)
        assert all(0 <= v <= 1 for v in r['per_seed'])
        if r['name'] != 'teacher':
            assert len(r['per_seed']) == 2

def test_cwd_needs_a_config_for_the_best_teacher():
    tool = load_benchmark_tool('seg_kd')
    assert tool.row_config('mmrazor:cwd', 'unet-c32').endswith(
        'cwd_logits_unet-c32_unet-c8_toy-seg.py')
    with pytest.raises(SystemExit, match='best teacher is deeplabv3-r18-d8'):
        tool.row_config('mmrazor:cwd', 'deeplabv3-r18-d8')
    teachers = {'unet-c32': dict(checkpoint='u.pth'),
                'deeplabv3-r18-d8': dict(checkpoint='d.pth')}
    assert tool.teacher_options('M6', teachers, 'unet-c32') == [
        'model.teachers.unet.ckpt_path=u.pth', 'model.teachers.dlv3.ckpt_path=d.pth']
    assert tool.teacher_options('mmrazor:cwd', teachers, 'unet-c32') == [
        'model.teacher_ckpt=u.pth']
    assert tool.teacher_options('student', teachers, 'unet-c32') == []


@pytest.mark.parametrize('argv, match', [
    (['--iters', '0'], 'must be >= 1'),
    (['--seeds', '1', '1'], 'distinct'),
])
def test_bad_arguments(argv, match):
    proc = subprocess.run([sys.executable, 'tools/benchmark/seg_kd.py', *argv], cwd=ROOT,
                          env=subprocess_env(), capture_output=True, text=True)
    assert proc.returncode == 2 and match in proc.stderr
