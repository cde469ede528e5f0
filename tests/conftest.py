import os
import os.path as osp
import sys

import pytest

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import kd_plugins  # noqa: E402,F401  (applies compat, registers)

# mmengine's default scope and the random generators are process-wide and tests change
# them; each test file starts with the scopes this process had after importing kd_plugins
# and with seeded generators, so it runs the same whichever files its pytest-xdist
# worker ran before (they vary from run to run)
from mmengine.registry import DefaultScope  # noqa: E402

_SCOPES_AT_START = dict(DefaultScope._instance_dict)


@pytest.fixture(scope='module', autouse=True)
def _same_start_for_every_file():
    import random

    import numpy as np
    import torch
    DefaultScope._instance_dict.clear()
    DefaultScope._instance_dict.update(_SCOPES_AT_START)
    random.seed(0)
    np.random.seed(0)
    torch.manual_seed(0)
    yield


# under pytest-xdist (tools/run_tests.sh: one worker per core) each worker gets its share
# of the cores for torch's intra-op threads: oversubscribed OpenMP threads spin and
# slow every worker down
_WORKERS = int(os.environ.get('PYTEST_XDIST_WORKER_COUNT', '1'))
if _WORKERS > 1:
    import torch
    torch.set_num_threads(max(1, (os.cpu_count() or 1) // _WORKERS))

CONFIGS = osp.join(ROOT, 'configs')
TEACHER_CFG = osp.join(CONFIGS, 'detectors', 'yolov3_mobilenetv2-w100_8xb8-12e_toy-det.py')
STUDENT_CFG = osp.join(CONFIGS, 'detectors', 'yolov3_mobilenetv2-w025_8xb8-12e_toy-det.py')
CWD_CFG = osp.join(CONFIGS, 'mmrazor_cwd',
                   'cwd_neck_yolov3-mbv2-w100_yolov3-mbv2-w025_toy-det.py')


@pytest.fixture(scope='session')
def toy_det_root(tmp_path_factory):
    """A small toy detection set (COCO json) made by the project's own generator."""
    from kd_plugins.datasets.toy import make_det
    root = tmp_path_factory.mktemp('toy_det')
    out = osp.join(str(root), 'toy_det')
    make_det(out, num_train=24, num_val=8, num_test=8, img_size=160, seed=0)
    return out


def det_data_options(root, batch_size=4):
    """--cfg-options that point a toy detection config at ``root`` (no workers)."""
    from kd_plugins.datasets.toy import det_loader_options
    return det_loader_options(root, batch_size)


@pytest.fixture
def mmrazor_scope():
    """Build with the mmrazor default scope, whatever an earlier test left set."""
    from mmengine.registry import DefaultScope
    with DefaultScope.overwrite_default_scope('mmrazor'):
        yield


@pytest.fixture(scope='session')
def toy_cls_root(tmp_path_factory):
    """A small toy classification set (mmpretrain CustomDataset folders)."""
    from kd_plugins.datasets.toy import make_cls
    out = osp.join(str(tmp_path_factory.mktemp('toy_cls')), 'toy_cls')
    make_cls(out, num_train_per_class=4, num_val_per_class=2, num_test_per_class=2,
             seed=0)
    return out


def cls_data_options(root, batch_size=8):
    """--cfg-options that point a toy classification config at ``root`` (no workers)."""
    from kd_plugins.datasets.toy import loader_options
    return loader_options(root, batch_size)


@pytest.fixture(scope='session')
def toy_seg_root(tmp_path_factory):
    """A small toy segmentation set (mmseg img_dir / ann_dir)."""
    from kd_plugins.datasets.toy import make_seg
    out = osp.join(str(tmp_path_factory.mktemp('toy_seg')), 'toy_seg')
    make_seg(out, num_train=8, num_val=4, num_test=4, seed=0)
    return out


def seg_data_options(root, batch_size=2):
    """--cfg-options that point a toy segmentation config at ``root`` (no workers)."""
    return cls_data_options(root, batch_size)


@pytest.fixture(scope='session')
def toy_retrieval_root(tmp_path_factory):
    """A small toy retrieval set (CUB-style lists, class-disjoint train / val / test:
    labels 0-3, 4-7, 8-11, 6 images each)."""
    from kd_plugins.datasets.toy import make_retrieval
    out = osp.join(str(tmp_path_factory.mktemp('toy_retrieval')), 'toy_retrieval')
    make_retrieval(out, num_train_classes=4, num_val_classes=4, num_test_classes=4,
                   imgs_per_class=6, seed=0)
    return out


def load_benchmark_tool(name):
    """A module of tools/benchmark/ (``name`` without .py), loaded from its file."""
    import importlib.util
    path = osp.join(ROOT, 'tools', 'benchmark', f'{name}.py')
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def cli_options(opts):
    return ['--cfg-options'] + [f'{k}={v}' for k, v in opts.items()]


def free_port():
    """A TCP port nobody listens on now (for torchrun / gloo rendezvous)."""
    import socket
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def subprocess_env():
    env = dict(os.environ)
    env['PYTHONPATH'] = ROOT + os.pathsep + env.get('PYTHONPATH', '')
    env.setdefault('OMP_NUM_THREADS', '1')
    return env


@pytest.fixture(scope='session')
def validate_bench():
    """The protocol's own result-file checker (../shared/tools/validate_bench.py)."""
    import importlib.util
    path = osp.join(ROOT, '..', 'shared', 'tools', 'validate_bench.py')
    if not osp.isfile(path):
        pytest.skip('../shared/tools/validate_bench.py not present')
    spec = importlib.util.spec_from_file_location('validate_bench', path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def raw_det_batch(with_gt=True, n=2, size=160, seed=0):
    """A raw batch (before the data preprocessor) of random uint8 images, each with the
    same two boxes (given at 160 px, scaled to ``size``) or none."""
    import torch
    from mmdet.structures import DetDataSample
    from mmengine.structures import InstanceData
    g = torch.Generator().manual_seed(seed)
    inputs, samples = [], []
    for _ in range(n):
        inputs.append(torch.randint(0, 256, (3, size, size), dtype=torch.uint8,
                                    generator=g))
        s = DetDataSample(metainfo=dict(img_shape=(size, size), ori_shape=(size, size),
                                        scale_factor=(1., 1.)))
        if with_gt:
            s.gt_instances = InstanceData(
                bboxes=torch.tensor([[10., 12., 70., 90.], [100., 20., 150., 60.]]) *
                (size / 160),
                labels=torch.tensor([1, 3]))
        else:
            s.gt_instances = InstanceData(bboxes=torch.zeros(0, 4),
                                          labels=torch.zeros(0, dtype=torch.long))
        samples.append(s)
    return dict(inputs=inputs, data_samples=samples)


def det_batch(algo, with_gt=True, n=2, size=160, seed=0):
    """A preprocessed batch of random images, with or without ground-truth boxes."""
    return algo.data_preprocessor(raw_det_batch(with_gt, n, size, seed), True)


# ------------------------------------------------ tests that need a CUDA device
def cuda_runnable():
    """True where the ``cuda`` tests run: a CUDA device, or the GPU check's CPU dry run
    (tools/gpu/check.sh --cpu sets KD_GPU_DRY_RUN=1)."""
    import torch
    return torch.cuda.is_available() or os.environ.get('KD_GPU_DRY_RUN') == '1'


# tests set up in this process, and how many of them are marked cuda (counted from the
# reports, which pytest-xdist's controller receives from its workers too)
_SET_UP = {'tests': 0, 'cuda': 0}


def pytest_runtest_logreport(report):
    if report.when == 'setup':
        _SET_UP['tests'] += 1
        _SET_UP['cuda'] += 'cuda' in report.keywords


def pytest_sessionfinish(session, exitstatus):
    """A run whose tests are all ``cuda`` tests, on a machine where they skip, checked
    nothing: it ends with pytest's "no tests" status (5), which tools/run_tests.sh and
    CI count as a failure, never as green."""
    if hasattr(session.config, 'workerinput'):
        return  # an xdist worker: its controller decides
    only_cuda = _SET_UP['tests'] > 0 and _SET_UP['cuda'] == _SET_UP['tests']
    if only_cuda and not cuda_runnable() and exitstatus == 0:
        session.config.pluginmanager.get_plugin('terminalreporter').write_line(
            'only tests marked cuda were collected and no CUDA device is here: they '
            'all skipped, so this run checked nothing (exit status 5)', red=True)
        session.exitstatus = pytest.ExitCode.NO_TESTS_COLLECTED
