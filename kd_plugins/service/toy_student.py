"""A tiny exported toy segmentation student, for the service tests and benchmark.

:func:`make_toy_student` runs what a user runs: toy segmentation data
(:func:`kd_plugins.datasets.toy.make_seg`), ``tools/train.py`` on
``configs/segmentors/unet-c12_toy-seg.py`` for a few iterations, then
``tools/export_student.py``; it returns the exported ``student.py`` / ``student.pth``.
Two iterations take about 15 s on one CPU core: the weights are barely trained, the
point is a real exported model with the toy classes (background, cell, gland,
vessel).
"""
import os
import os.path as osp
import subprocess
import sys
import time

TOY_CONFIG = osp.join('configs', 'segmentors', 'unet-c12_toy-seg.py')


def project_root():
    """The folder holding ``tools/`` and ``configs/``: the source checkout, else the
    installed package's ``.mim`` folder."""
    here = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
    for root in (here, osp.join(here, 'kd_plugins', '.mim')):
        if osp.isfile(osp.join(root, 'tools', 'train.py')):
            return root
    raise FileNotFoundError(f'no tools/train.py under {here} or its kd_plugins/.mim')


def toy_cfg_options(data_root, iters=2, batch_size=2, seed=0):
    """``--cfg-options`` values: the toy data at ``data_root``, no workers, ``iters``
    iterations, validation and a checkpoint at the last one."""
    from kd_plugins.datasets.toy import loader_options
    opts = loader_options(data_root)
    opts.update({'train_dataloader.batch_size': batch_size,
                 'train_cfg.max_iters': iters, 'train_cfg.val_interval': iters,
                 'default_hooks.checkpoint.interval': iters,
                 'randomness.seed': seed})
    return [f'{k}={v}' for k, v in opts.items()]


def _run(cmd, cwd, env, timeout):
    res = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True,
                         timeout=timeout)
    if res.returncode != 0:
        tail = (res.stdout + res.stderr)[-3000:]
        raise RuntimeError(f'{" ".join(cmd[:3])} ... failed ({res.returncode}):\n{tail}')


def make_toy_student(out_dir, iters=2, seed=0, env=None, timeout=600):
    """Train and export the toy student under ``out_dir``; reuse an earlier export.

    Returns a dict with ``config`` and ``checkpoint`` (the exported files), ``data_root``
    (the toy data, images under ``img_dir/val``), ``reused`` and ``seconds``.
    """
    from kd_plugins.datasets.toy import make_seg

    start = time.perf_counter()
    out_dir = osp.abspath(out_dir)
    export_dir = osp.join(out_dir, 'export')
    result = dict(config=osp.join(export_dir, 'student.py'),
                  checkpoint=osp.join(export_dir, 'student.pth'),
                  data_root=osp.join(out_dir, 'toy_seg'))
    make_seg(result['data_root'], num_train=8, num_val=4, num_test=4, seed=seed)
    reused = osp.isfile(result['config']) and osp.isfile(result['checkpoint'])
    if not reused:
        root = project_root()
        env = dict(os.environ if env is None else env)
        env.setdefault('OMP_NUM_THREADS', '1')
        work_dir = osp.join(out_dir, 'train')
        config = osp.join(root, TOY_CONFIG)
        _run([sys.executable, osp.join(root, 'tools', 'train.py'), config,
              '--work-dir', work_dir, '--cfg-options'] +
             toy_cfg_options(result['data_root'], iters=iters, seed=seed),
             root, env, timeout)
        _run([sys.executable, osp.join(root, 'tools', 'export_student.py'),
              osp.join(work_dir, f'iter_{iters}.pth'), '--config', config,
              '--out', export_dir], root, env, timeout)
    result.update(reused=reused, seconds=round(time.perf_counter() - start, 1))
    return result
