"""Shared argument handling of tools/train.py and tools/test.py.

Import order matters: kd_plugins (and with it the torch-2.x fixes) is imported before
anything registers mmrazor, and both ``--local_rank`` and ``--local-rank`` are accepted
(``torch.distributed.launch``, used by ``mim train --launcher pytorch``, passes the latter).
"""
import argparse
import os
import os.path as osp
import sys


def ensure_importable():
    """Make ``import kd_plugins`` work from a source checkout without installing."""
    try:
        import kd_plugins  # noqa: F401
    except ImportError:
        root = osp.dirname(osp.dirname(osp.abspath(__file__)))
        if osp.isdir(osp.join(root, 'kd_plugins')):
            sys.path.insert(0, root)
        import kd_plugins  # noqa: F401


def add_common_args(parser: argparse.ArgumentParser):
    from mmengine.config import DictAction
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--teacher-ckpt',
        help='local teacher checkpoint for a distillation config '
        '(sets model.teacher_ckpt)')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config settings, e.g. model.teacher_ckpt=/x/teacher.pth; a key '
        'must exist in the config (or be an argument of the component it goes into); '
        'write +a.b=v to add a key anyway')
    parser.add_argument(
        '--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none',
        help='job launcher')
    # torch.distributed.launch passes --local-rank, older launchers --local_rank
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def load_config(args):
    """Read the config and apply command-line overrides; validates early."""
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return read_config(args.config, args.cfg_options, args.teacher_ckpt, args.work_dir,
                       args.launcher)


def read_config(path, cfg_options=None, teacher_ckpt=None, work_dir=None,
                launcher='none'):
    """A config (a file, or ``package::path`` of an installed OpenMMLab package) with
    overrides applied, ``teacher_ckpt`` carried into the model."""
    from mmengine.config import Config
    from kd_plugins.engine.cfg_options import ConfigOptionError, check_cfg_options
    if '::' in path:  # an installed package's own config: mmdet::yolo/...
        from mmengine.hub import get_config
        try:
            cfg = get_config(path, pretrained=False)
        except Exception as err:  # noqa: BLE001 - mmengine raises several kinds
            raise SystemExit(f'error: config {path!r} is no config of an installed '
                             f'package ({err})') from None
    elif not osp.isfile(path):
        raise SystemExit(f'error: config file {path!r} not found')
    else:
        cfg = Config.fromfile(path)
    cfg.launcher = launcher
    if cfg_options:
        try:
            cfg_options = check_cfg_options(cfg, cfg_options, path)
        except ConfigOptionError as err:
            raise SystemExit(f'error: {err}') from None
        cfg.merge_from_dict(cfg_options)
    # `teacher_ckpt` is a top-level variable of distillation configs; an override of it
    # must reach the model too (config variables are substituted at parse time)
    top = cfg.get('teacher_ckpt', None)
    if teacher_ckpt:
        top = teacher_ckpt
        cfg.teacher_ckpt = top
    if top is not None:
        if not isinstance(cfg.get('model'), dict) or 'teacher' not in cfg.model:
            raise SystemExit(f'error: --teacher-ckpt/teacher_ckpt given but '
                             f'{path} is not a distillation config '
                             '(its model has no teacher)')
        cfg.model.teacher_ckpt = top
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(path))[0])
    return cfg


AMP_DTYPES = ('float16', 'bfloat16')


def use_amp(cfg, dtype='float16'):
    """Train ``cfg`` with automatic mixed precision (CUDA): its optimizer wrapper, or each
    wrapper of a per-module dict (``constructor`` + one entry per module, as the
    data-free algorithms' student + generators), becomes an ``AmpOptimWrapper`` casting
    to ``dtype``; float16 with a dynamic loss scale. Teachers run under the same autocast
    and keep their float32 weights."""
    if dtype not in AMP_DTYPES:
        raise SystemExit(f'error: AMP dtype must be one of {AMP_DTYPES}, got {dtype!r}')
    ow = cfg.optim_wrapper
    per_module = 'constructor' in ow and 'optimizer' not in ow
    wrappers = [v for v in ow.values() if isinstance(v, dict) and 'optimizer' in v] \
        if per_module else [ow]
    if not wrappers:
        raise SystemExit('error: --amp: optim_wrapper holds no optimizer to wrap')
    for w in wrappers:
        w['type'] = 'AmpOptimWrapper'
        w['dtype'] = dtype
        w['loss_scale'] = 'dynamic'
    return cfg


def build_runner(cfg):
    from mmengine.registry import RUNNERS
    from mmengine.runner import Runner

    from kd_plugins.compat import init_dist_for_device
    init_dist_for_device(cfg.launcher)
    if 'runner_type' not in cfg:
        return Runner.from_cfg(cfg)
    return RUNNERS.build(cfg)


def finish_dist():
    """End a distributed run cleanly: every rank waits for the others, then the process
    group is destroyed, so that no rank exits while a peer's gloo / nccl connections to
    it are still live (which can abort the peer with SIGABRT at shutdown)."""
    import torch.distributed as dist
    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()
