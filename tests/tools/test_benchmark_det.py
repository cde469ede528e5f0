"""tools/benchmark/det_kd.py: the result file follows ../shared/BENCHMARKS.md, the
derived numbers (delta, gap closed, targets) are computed from the runs, READMEs get the
table between their markers; iter_timing.py measures real iterations."""
import json
import math
import os.path as osp
import re
import subprocess
import sys

import pytest

from conftest import ROOT, det_data_options, load_benchmark_tool, subprocess_env

ROW_NAME = re.compile(r'^(teacher|student|M[1-8](-teacher)?|(mmrazor|baseline):[\w.+-]+)$')


def load_tool():
    return load_benchmark_tool('det_kd')


def fake_runs(tool, student=(0.030, 0.040), gain=None):
    gain = gain or {}
    runs = {}
    for name in tool.ROWS:
        runs[name] = [dict(bbox_mAP=s + gain.get(name, 0.0), AP50=3 * s, train_seconds=60.0,
                           peak_mem_mb=1000.0 + i) for i, s in enumerate(student)]
    return runs


def fake_timing(tool, overhead=1.05):
    names = [n for n in tool.ROWS if n != 'student']
    return dict(time_per_iter_ratio={n: 1.4 for n in names},
                overhead_vs_floor={n: overhead for n in names},
                teacher_without_autograd={n: True for n in names},
                floor_seconds=0.5, seconds_per_iter=dict(student=0.35))


def test_rows_follow_the_benchmark_format_and_derive_from_runs():
    tool = load_tool()
    teacher = dict(bbox_mAP=0.135, AP50=0.3, peak_mem_mb=1300.0)
    runs = fake_runs(tool, gain={'M1': 0.025, 'M2': 0.03, 'M4': 0.01, 'mmrazor:cwd': 0.02})
    timing = fake_timing(tool)
    rows = tool.build_rows(teacher, runs, timing)
    meta = dict(dataset='toy-det', machine='cpu2', command='python tools/benchmark/det_kd.py',
                date='2026-11-24', seeds=[0, 1])
    checks = tool.verdicts(rows, timing)
    doc = json.loads(json.dumps(tool.result_document(meta, rows, checks, {})))
    for key in ('task', 'dataset', 'machine', 'command', 'date', 'metric', 'seeds', 'rows'):
        assert key in doc
    assert doc['task'] == 'detection' and doc['metric'] == 'bbox_mAP'
    by = {r['name']: r for r in doc['rows']}
    assert set(by) == {'teacher', *tool.ROWS}
    for r in doc['rows']:
        assert ROW_NAME.match(r['name'])
        assert all(0.0 <= v <= 1.0 for v in r['per_seed'])
        assert math.isclose(r['mean'], sum(r['per_seed']) / len(r['per_seed']),
                            abs_tol=5e-4)
        if r['name'] != 'teacher':
            assert len(r['per_seed']) == 2
    assert by['M2']['extra']['delta_vs_student'] == pytest.approx(0.03)
    # student mean 0.035, teacher 0.135: M2's +0.03 closes 30 % of the gap
    assert by['M2']['extra']['gap_closed'] == pytest.approx(0.3)
    assert by['M1']['overhead_vs_floor'] == 1.05 and by['M1']['time_per_iter_ratio'] == 1.4
    met = {t: ok for t, ok, _ in checks}
    assert [ok for t, ok in met.items() if t.startswith('M4 improves')] == [False]
    assert [ok for t, ok in met.items() if t.startswith('M1 improves')] == [True]
    assert [ok for t, ok in met.items() if t.startswith('best of')] == [True]
    table = tool.markdown(dict(meta, epochs=8, teacher_epochs=16, floor_seconds=0.5,
                               student_seconds=0.35, peak_mem_kind='rss'), rows, checks)
    assert '| M2 | 0.0650 ± 0.0050 |' in table and '+3.00 pt' in table
    assert 'NOT met: M4 improves' in table


def test_slow_methods_fail_the_overhead_target():
    tool = load_tool()
    timing = fake_timing(tool, overhead=1.3)
    rows = tool.build_rows(dict(bbox_mAP=0.1, AP50=0.2, peak_mem_mb=1.0),
                           fake_runs(tool), timing)
    checks = tool.verdicts(rows, timing)
    assert not any(ok for t, ok, _ in checks if 'floor' in t)


def test_embed_replaces_only_the_marked_block(tmp_path):
    tool = load_tool()
    readme = tmp_path / 'README.md'
    readme.write_text('# M9\n\nintro\n\n<!-- benchmark:k -->\nold\n<!-- /benchmark -->\n\n'
                      'after\n')
    tool.embed(str(readme), 'k', '| new |\n')
    text = readme.read_text()
    assert 'old' not in text and '| new |' in text
    assert text.startswith('# M9\n\nintro') and text.endswith('after\n')
    tool.embed(str(readme), 'other', '| second |\n')  # no markers for it: appended
    assert '<!-- benchmark:other -->\n| second |' in readme.read_text()


def test_bad_arguments_are_refused():
    res = subprocess.run([sys.executable, 'tools/benchmark/det_kd.py', '--seeds', '0', '0'],
                         cwd=ROOT, env=subprocess_env(), capture_output=True, text=True)
    assert res.returncode == 2 and '--seeds must be distinct' in res.stderr


@pytest.mark.slow
def test_iter_timing_measures_real_iterations(toy_det_root, tmp_path):
    opts = [f'{k}={v}' for k, v in det_data_options(toy_det_root, batch_size=2).items()]
    out = tmp_path / 'timing.json'
    pair = 'yolov3-mbv2-w100_yolov3-mbv2-w025_toy-det.py'
    cmd = [sys.executable, 'tools/benchmark/iter_timing.py', '--student',
           'configs/detectors/yolov3_mobilenetv2-w025_8xb8-12e_toy-det.py',
           '--method', f'M4=configs/info_map/m4_{pair}', '--iters', '2', '--warmup', '1',
           '--json', str(out), '--cfg-options', *opts]
    res = subprocess.run(cmd, cwd=ROOT, env=subprocess_env(), capture_output=True,
                         text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    t = json.loads(out.read_text())
    sec = t['seconds_per_iter']
    assert set(sec) == {'student', 'M4', 'teacher_inference'}
    assert all(v > 0 for v in sec.values())
    assert t['floor_seconds'] == pytest.approx(sec['student'] + sec['teacher_inference'])
    assert t['overhead_vs_floor']['M4'] == pytest.approx(sec['M4'] / t['floor_seconds'])
    assert t['teacher_without_autograd'] == {'M4': True}
