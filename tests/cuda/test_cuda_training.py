"""A few training iterations of every kd_plugins algorithm and of MMRazor CWD on CUDA,
with automatic mixed precision (bfloat16) off and on, in one process (the GPU check,
tools/gpu/check.sh, runs them on a GPU machine).

Marked ``cuda``: without a CUDA device they skip, unless ``KD_GPU_DRY_RUN=1`` (the check's
``--cpu`` dry run, which the suite runs) puts them on the CPU; AMP needs CUDA
(MMEngine's AmpOptimWrapper), so the AMP half skips in the dry run.

Each run checks what a GPU user's first iterations need: every logged loss is finite on
every iteration, the student's weights are on the device and moved, the frozen teachers
kept their float32 weights (M8 trains its teacher), and with AMP the optimizer wrappers
are AmpOptimWrappers of the asked dtype.
"""
import math
import os.path as osp
import shutil
import sys

import pytest
import torch
from mmengine.hooks import Hook

from conftest import (CONFIGS, CWD_CFG, ROOT, cls_data_options, cuda_runnable,
                      det_data_options, load_benchmark_tool)

sys.path.insert(0, osp.join(ROOT, 'tools'))
import train  # noqa: E402  (tools/train.py: the command line's configure)
from _common import build_runner, read_config  # noqa: E402

ITER_TIMING = load_benchmark_tool('iter_timing')

pytestmark = [pytest.mark.cuda, pytest.mark.slow]

TOY_DET = 'yolov3-mbv2-w100_yolov3-mbv2-w025_toy-det'
ALGORITHMS = {
    # name: (config, data kind)
    'M1': (f'attention_imitation/m1_{TOY_DET}.py', 'det'),
    'M2': (f'confidence_guided/m2_{TOY_DET}.py', 'det'),
    'M3': (f'semi_adaptive/m3_{TOY_DET}-semi10.py', 'semi'),
    'M4': (f'info_map/m4_{TOY_DET}.py', 'det'),
    'M5': ('hybrid_attention/m5_wrn-16-2_resnet8_toy-cls.py', 'cls'),
    'M6': ('multi_teacher/m6_unet-c32_deeplabv3-r18_unet-c12_toy-seg.py', 'seg'),
    'M7': ('dual_generator/m7_wrn-16-2_resnet8_toy-cls.py', 'datafree'),
    'M8': ('mutual_metric/m8_wrn-16-2-512d_resnet8x0.5-128d_toy-retrieval.py', 'retrieval'),
    'mmrazor:cwd': (osp.relpath(CWD_CFG, CONFIGS), 'det'),
}
TRAINS_ITS_TEACHER = {'M8'}
ITERS = 2


def train_device():
    """'cuda', or 'cpu' in the check's dry run; skips otherwise."""
    if not cuda_runnable():
        pytest.skip('no CUDA device (tools/gpu/check.sh --cpu runs these on the CPU)')
    return 'cuda' if torch.cuda.is_available() else 'cpu'


def semi_options(tmp_path, det_root):
    """M3's labeled + unlabeled loaders on a copy of the toy detection set."""
    from kd_plugins.datasets.toy import split_det_semi
    root = str(tmp_path / 'semi_data')
    shutil.copytree(det_root, root)
    parts = split_det_semi(osp.join(root, 'annotations', 'train.json'), 25, seed=0)
    opts = {k: v for k, v in det_data_options(det_root).items()
            if not k.startswith('train_dataloader.')}
    for i, part in enumerate(('labeled', 'unlabeled')):
        opts[f'train_dataloader.dataset.datasets.{i}.data_root'] = root + '/'
        opts[f'train_dataloader.dataset.datasets.{i}.ann_file'] = parts[part]
    opts.update({'train_dataloader.batch_size': 4, 'train_dataloader.sampler.batch_size': 4,
                 'train_dataloader.num_workers': 0,
                 'train_dataloader.persistent_workers': False})
    return opts


@pytest.fixture
def data_options(request, tmp_path):
    """--cfg-options of one data kind (the toy sets are made once per session)."""
    def options(kind):
        if kind in ('det', 'semi'):
            root = request.getfixturevalue('toy_det_root')
            return semi_options(tmp_path, root) if kind == 'semi' else \
                det_data_options(root, batch_size=4)
        if kind in ('cls', 'datafree'):
            opts = cls_data_options(request.getfixturevalue('toy_cls_root'))
            if kind == 'datafree':  # the training loader is the generator's placeholder
                opts = {k: v for k, v in opts.items() if not k.startswith('train_')}
                opts.update({'model.batch_size': 8, 'model.student_iter': 2})
            return opts
        if kind == 'seg':
            return cls_data_options(request.getfixturevalue('toy_seg_root'), batch_size=2)
        opts = cls_data_options(request.getfixturevalue('toy_retrieval_root'), batch_size=8)
        opts['train_dataloader.sampler.batch_size'] = 8
        return opts
    return options


def float_state(module):
    return {k: v.detach().clone() for k, v in module.state_dict().items()
            if v.is_floating_point()}


class RecordLosses(Hook):
    """The loss values each training iteration logged, and the student's and teachers'
    weights when training starts (after the runner initialised them)."""

    def __init__(self):
        self.steps, self.student, self.teachers = [], None, None

    def before_train(self, runner):
        self.student = float_state(student_module(runner.model))
        self.teachers = [float_state(t) for t in teacher_modules(runner.model)]

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        self.steps.append({k: float(v) for k, v in (outputs or {}).items()
                           if 'loss' in k})


def build(name, options, work_dir, amp_dtype):
    rel, _ = ALGORITHMS[name]
    cfg = read_config(osp.join(CONFIGS, rel), options, None, str(work_dir))
    cfg.default_hooks.logger.interval = 1
    cfg.log_level = 'WARNING'
    train.configure(cfg, amp_dtype=amp_dtype, max_iters=ITERS)
    runner = build_runner(cfg)
    hook = RecordLosses()
    runner.register_hook(hook, priority='LOWEST')
    return runner, hook


def teacher_modules(model):
    return ITER_TIMING.teachers_of(model)


def student_module(model):
    """The student of an MMRazor algorithm (``architecture``)."""
    student = getattr(getattr(model, 'module', model), 'architecture', None)
    assert isinstance(student, torch.nn.Module), f'{type(model).__name__}: no architecture'
    return student


@pytest.mark.parametrize('amp', [None, 'bfloat16'], ids=['fp32', 'amp-bf16'])
@pytest.mark.parametrize('name', sorted(ALGORITHMS))
def test_algorithm_trains_on_the_device(name, amp, data_options, tmp_path):
    device = train_device()
    if amp and device != 'cuda':
        pytest.skip('AMP needs CUDA (MMEngine AmpOptimWrapper)')
    runner, hook = build(name, data_options(ALGORITHMS[name][1]), tmp_path / 'w', amp)
    model = runner.model
    student = student_module(model)
    teachers = teacher_modules(model)
    assert teachers, f'{name}: no teacher found'
    runner.train()
    assert len(hook.steps) == ITERS, hook.steps
    for i, losses in enumerate(hook.steps):
        assert losses, f'{name}: iteration {i} logged no loss'
        bad = {k: v for k, v in losses.items() if not math.isfinite(v)}
        assert not bad, f'{name} iteration {i}: non-finite losses {bad}'
    params = list(student.parameters())
    assert all(p.device.type == device for p in params)
    moved = [k for k, v in student.state_dict().items()
             if k in hook.student and not torch.equal(v, hook.student[k])]
    assert moved, f'{name}: no student weight changed in {ITERS} iterations'
    for t, before in zip(teachers, hook.teachers):
        now = t.state_dict()
        assert all(now[k].dtype == torch.float32 for k in before)
        changed = [k for k in before if not torch.equal(now[k], before[k])]
        if name in TRAINS_ITS_TEACHER:
            assert changed, f'{name} trains its teacher, but no teacher weight changed'
        else:
            # BN running statistics of a frozen teacher in eval mode stay as well
            assert not changed, f'{name}: frozen teacher weights changed: {changed[:5]}'
    if amp:
        from mmengine.optim import AmpOptimWrapper, OptimWrapperDict
        ow = runner.optim_wrapper
        wrappers = list(ow.values()) if isinstance(ow, OptimWrapperDict) else [ow]
        assert all(isinstance(w, AmpOptimWrapper) and w.cast_dtype == torch.bfloat16
                   for w in wrappers)
