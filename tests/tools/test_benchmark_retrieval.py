"""The retrieval (M8) benchmark tool: log parsing, rows, targets, JSON, arguments; and the
user's chain for M8's teacher: export it from an M8 checkpoint and test it."""
import argparse
import json
import os.path as osp
import re
import subprocess
import sys

import pytest
from mmengine.config import Config

from conftest import ROOT, cli_options, cls_data_options, load_benchmark_tool, \
    subprocess_env

ROW_NAME = re.compile(
    r'^(teacher|student|M[1-8](-teacher)?|(mmrazor|baseline):[\w.+-]+)$')
LOG = """\
11/25 06:26:54 - mmengine - INFO - Epoch(train)  [5][12/12]  lr: 9.8917e-04  eta: \
0:00:43  time: 0.7234  data_time: 0.0136  loss: 0.9148
11/25 06:26:59 - mmengine - INFO - Epoch(val) [5][7/7]    retrieval/R@1: 11.7500  \
retrieval/R@2: 26.2500  retrieval/R@4: 48.5000  retrieval/R@8: 73.5000  \
retrieval/NMI: 11.1130  data_time: 0.0296  time: 0.5993
11/25 06:27:51 - mmengine - INFO - Epoch(val) [10][7/7]    retrieval/R@1: 27.2500  \
retrieval/R@2: 44.5000  retrieval/R@4: 65.5000  retrieval/R@8: 86.2500  \
retrieval/NMI: 27.2777  data_time: 0.0161  time: 0.5621
"""


def result(r1, nmi=0.3, secs=0.2):
    return {'R@1': r1, 'R@2': r1 + 0.1, 'R@4': r1 + 0.2, 'R@8': r1 + 0.3, 'NMI': nmi,
            'train_seconds': 10.0, 'peak_mem_mb': 700.0, 'seconds_per_iter': secs,
            'checkpoint': 't.pth'}


def test_log_parsing():
    tool = load_benchmark_tool('retrieval_kd')
    got = tool.retrieval_metrics(LOG)  # the last evaluation, as fractions
    assert got == {'R@1': pytest.approx(0.2725), 'R@2': pytest.approx(0.445),
                   'R@4': pytest.approx(0.655), 'R@8': pytest.approx(0.8625),
                   'NMI': pytest.approx(0.272777)}
    assert tool.retrieval_metrics('no evaluation') is None


def runs_with(m8, m8_nmi, m8_teacher, m8_teacher_nmi):
    return {'teacher': [result(0.50, 0.45, 0.6), result(0.52, 0.47, 0.6)],
            'student': [result(0.30, 0.30), result(0.32, 0.30)],
            'mmrazor:rkd': [result(0.36, 0.35, 0.4), result(0.36, 0.35, 0.4)],
            'M8': [result(m8, m8_nmi, 0.8), result(m8, m8_nmi, 0.8)],
            'M8-teacher': [result(m8_teacher, m8_teacher_nmi, 0.8)] * 2}


def test_rows_and_targets(tmp_path):
    tool = load_benchmark_tool('retrieval_kd')
    rows = tool.make_rows(runs_with(0.40, 0.38, 0.53, 0.455))
    by = {r['name']: r for r in rows}
    assert list(by) == ['teacher', 'student', 'mmrazor:rkd', 'M8', 'M8-teacher']
    assert by['M8']['extra']['reference'] == 'mmrazor:rkd'
    assert by['M8']['extra']['delta_R@1_vs_reference'] == pytest.approx(0.04)
    assert by['M8']['extra']['delta_NMI_vs_reference'] == pytest.approx(0.03)
    assert by['M8-teacher']['extra']['delta_R@1_vs_reference'] == pytest.approx(0.02)
    assert by['M8']['time_per_iter_ratio'] == pytest.approx(4.0)
    assert by['teacher']['extra']['R@8'] == pytest.approx(0.81)
    # R@1 better for both, NMI: the student better, M8's teacher worse than alone
    checks = tool.verdicts(rows)
    assert [ok for _, ok, _ in checks] == [True, True, True, False]
    # below RKD and below the teacher alone: every target missed
    rows_bad = tool.make_rows(runs_with(0.35, 0.34, 0.49, 0.44))
    assert [ok for _, ok, _ in tool.verdicts(rows_bad)] == [False] * 4
    args = argparse.Namespace(out=str(tmp_path), machine='cpu2', seeds=[0, 1],
                              no_embed=True)
    meta = dict(dataset='toy-retrieval', date='2026-11-25',
                command='python tools/benchmark/retrieval_kd.py')
    table = tool.markdown('title', meta, rows, checks, ['note'])
    assert '| M8 | 40.00 ± 0.00 |' in table and 'NOT met' in table
    tool.cls_publish(args, 'retrieval', meta, rows, checks, {}, table, [],
                     metric=('R@1', 'Recall@1'), ours=('M8', 'M8-teacher'))
    data = json.loads((tmp_path / 'results' / 'retrieval-toy-retrieval-cpu2.json')
                      .read_text())
    assert data['task'] == 'retrieval' and data['metric'] == 'R@1'
    names = [r['name'] for r in data['rows']]
    assert 'M8-teacher' in names and 'mmrazor:rkd' in names
    for r in data['rows']:
        assert ROW_NAME.match(r['name'])
        assert r['mean'] == pytest.approx(sum(r['per_seed']) / len(r['per_seed']),
                                          abs=1e-4)
        assert all(0 <= v <= 1 for v in r['per_seed']) and len(r['per_seed']) == 2


@pytest.mark.parametrize('argv, match', [
    (['--epochs', '0'], 'must be >= 1'),
    (['--seeds', '1', '1'], 'distinct'),
])
def test_bad_arguments(argv, match):
    proc = subprocess.run([sys.executable, 'tools/benchmark/retrieval_kd.py', *argv],
                          cwd=ROOT, env=subprocess_env(), capture_output=True, text=True)
    assert proc.returncode == 2 and match in proc.stderr


def test_m8_teacher_export_and_mim_test(toy_retrieval_root, tmp_path):
    """Train M8 2 iterations, export its teacher (--part teacher) and its student, then
    evaluate both with mmpretrain's own `mim test` (Recall@K / NMI)."""
    cfg = osp.join(ROOT, 'configs', 'mutual_metric',
                   'm8_wrn-16-2-512d_resnet8-128d_toy-retrieval.py')
    work = str(tmp_path / 'work')
    opts = dict(cls_data_options(toy_retrieval_root, batch_size=8),
                **{'train_dataloader.sampler.batch_size': 8})
    env = subprocess_env()
    proc = subprocess.run([sys.executable, 'tools/train.py', cfg, '--work-dir', work,
                           '--max-iters', '2', *cli_options(opts)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    mim = osp.join(osp.dirname(sys.executable), 'mim')
    test_opts = {k: v for k, v in opts.items() if k.startswith('test_')}
    for part, width in (('teacher', 512), ('student', 128)):
        out = str(tmp_path / part)
        proc = subprocess.run([sys.executable, 'tools/export_student.py',
                               osp.join(work, 'iter_2.pth'), '--config', cfg, '--out',
                               out, '--part', part], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr[-3000:]
        exported = Config.fromfile(osp.join(out, f'{part}.py'))
        assert exported.model.type == 'ImageClassifier'
        assert exported.model.head.embed_dim == width
        assert exported.custom_imports.imports == ['kd_plugins']  # EmbeddingHead
        proc = subprocess.run([mim, 'test', 'mmpretrain', osp.join(out, f'{part}.py'),
                               '--checkpoint', osp.join(out, f'{part}.pth'),
                               '--work-dir', str(tmp_path / f'mim-{part}'),
                               *cli_options(test_opts)], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=600)
        log = proc.stdout + proc.stderr
        assert proc.returncode == 0, log[-3000:]
        assert re.search(r'retrieval/R@1: [0-9.]+', log) and 'retrieval/NMI' in log
