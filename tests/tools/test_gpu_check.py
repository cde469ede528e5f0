"""The GPU check kit without a GPU: a run that collects only the ``cuda`` tests fails on
a machine where they skip (exit 5, which tools/run_tests.sh and CI count as a failure)."""
import os
import subprocess
import sys

import pytest
import torch

from conftest import ROOT, subprocess_env


@pytest.mark.parametrize('workers', [[], ['-n', '2']], ids=['one-process', 'xdist'])
def test_only_cuda_tests_on_a_cpu_machine_is_not_green(workers):
    if torch.cuda.is_available():
        pytest.skip('a CUDA device is here: the cuda tests run')
    env = subprocess_env()
    env.pop('KD_GPU_DRY_RUN', None)
    res = subprocess.run([sys.executable, '-m', 'pytest', '-q', '-p', 'no:cacheprovider',
                          *workers, os.path.join('tests', 'cuda')], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=300)
    out = res.stdout + res.stderr
    assert res.returncode == 5, out[-2000:]
    assert 'checked nothing' in out and 'skipped' in out


@pytest.mark.slow
def test_gpu_check_dry_run(tmp_path, validate_bench):
    """tools/gpu/check.sh --cpu: every step that makes sense without a GPU runs and
    passes (four of the cuda tests on the CPU, torchrun, export + mim test, the service,
    the cost tool on the CIFAR pair), and the results come back as one archive with the
    step table, the test report and a cost file in the protocol's format."""
    import json
    import tarfile
    import xml.etree.ElementTree as ET
    out = tmp_path / 'out'
    res = subprocess.run(['bash', os.path.join('tools', 'gpu', 'check.sh'), '--cpu', '--out',
                          str(out), '--tests-k', 'M5 or M7 or M8 or cwd'], cwd=ROOT,
                         env=subprocess_env(), capture_output=True, text=True, timeout=900)
    log = res.stdout + res.stderr
    assert res.returncode == 0, log[-4000:]
    with tarfile.open(out / 'gpu-check-results.tar.gz') as tar:
        tar.extractall(tmp_path / 'x', filter='data')
    results = tmp_path / 'x' / 'results'
    steps = dict(line.split('\t')[:2] for line in
                 (results / 'steps.tsv').read_text().splitlines()[1:])
    assert steps == {'install': 'skipped', 'mmcv': 'skipped', 'tests': 'ok', 'dist': 'ok',
                     'export': 'ok', 'service': 'ok', 'cost': 'ok'}, steps
    suite = ET.parse(results / 'cuda-tests.xml').getroot().find('testsuite')
    assert int(suite.get('tests')) == 8 and int(suite.get('failures')) == 0 and \
        int(suite.get('errors')) == 0 and int(suite.get('skipped')) == 4
    assert 'PASS service: --device cpu' in (results / 'service.log').read_text()
    cost = results / 'cost-resnet32x4-resnet8x4-cpu-dry-run.json'
    doc = json.loads(cost.read_text())
    assert [r['name'] for r in doc['rows']] == ['student', 'mmrazor:cwd', 'M5']
    assert all(r['mean'] > 0 for r in doc['rows'])
    assert validate_bench.check(str(cost)) == []


def load_cost_tool():
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        'gpu_cost', os.path.join(ROOT, 'tools', 'gpu', 'cost.py'))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def pad_sizes(node, key=None):
    """Every ``size`` of a ``data_preprocessor`` in a model config."""
    found = []
    if isinstance(node, dict):
        if key == 'data_preprocessor' and node.get('size') is not None:
            found.append(node['size'])
        for k, v in node.items():
            found += pad_sizes(v, k)
    elif isinstance(node, (list, tuple)):
        for v in node:
            found += pad_sizes(v)
    return found


@pytest.mark.parametrize('pair', ['yolov3-d53-mbv2', 'faster-rcnn-r101-r50',
                                  'deeplabv3-r101-r18', 'resnet32x4-resnet8x4'])
def test_cost_pairs_batches_and_configs(pair):
    """What the GPU run of tools/gpu/cost.py takes without building the big models here:
    every config of the pair exists and loses its checkpoints and pretrained weights (no
    download), mmseg's fixed pad size follows the input, and the synthetic batch has the
    pair's real size and batch (labeled + unlabeled halves for M3)."""
    sys.path.insert(0, os.path.join(ROOT, 'tools'))
    try:
        from _common import read_config
        cost = load_cost_tool()
    finally:
        sys.path.pop(0)
    p = cost.PAIRS[pair]
    for path in [p.student, *p.methods.values()]:
        cfg = cost.prepare(read_config(os.path.join(ROOT, path)), (40, 72))
        text = cfg.pretty_text
        assert 'Pretrained' not in text and 'torchvision://' not in text, path
        assert cfg.get('teacher_ckpt') is None and cfg.model.get('teacher_ckpt') is None
        if p.kind == 'seg':
            sizes = pad_sizes(cfg.model.to_dict())
            assert sizes and all(tuple(v) == (40, 72) for v in sizes), (path, sizes)
    batch = cost.synthetic_batch(p, p.size, p.batch)
    assert len(batch['inputs']) == p.batch == len(batch['data_samples'])
    assert tuple(batch['inputs'][0].shape) == (3, *p.size)
    sample = batch['data_samples'][0]
    if p.kind == 'det':
        boxes = sample.gt_instances.bboxes
        assert len(boxes) and (boxes[:, 2:] > boxes[:, :2]).all()
        assert (boxes[:, 2] <= p.size[1]).all() and (boxes[:, 3] <= p.size[0]).all()
        assert (sample.gt_instances.labels < p.classes).all()
    elif p.kind == 'seg':
        assert tuple(sample.gt_sem_seg.data.shape) == (1, *p.size)
        assert int(sample.gt_sem_seg.data.max()) < p.classes
    for row in p.semi:
        semi = cost.synthetic_batch(p, p.size, p.batch, semi=True)
        assert set(semi['inputs']) == {'sup', 'unsup'}
        assert len(semi['inputs']['sup']) + len(semi['inputs']['unsup']) == p.batch
        assert all(len(s.gt_instances) == 0 for s in semi['data_samples']['unsup'])
