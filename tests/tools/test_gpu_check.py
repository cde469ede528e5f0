"""The GPU check kit without a GPU: a run that collects only the ``cuda`` tests fails on
a machine where they skip (exit 5, which tools/run_tests.sh and CI count as a failure)."""
import os
import subprocess
import sys

import pytest
import torch

from conftest import ROOT, subprocess_env


def test_only_cuda_tests_on_a_cpu_machine_is_not_green():
    if torch.cuda.is_available():
        pytest.skip('a CUDA device is here: the cuda tests run')
    env = subprocess_env()
    env.pop('KD_GPU_DRY_RUN', None)
    res = subprocess.run([sys.executable, '-m', 'pytest', '-q', '-p', 'no:cacheprovider',
                          os.path.join('tests', 'cuda')], cwd=ROOT, env=env,
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
