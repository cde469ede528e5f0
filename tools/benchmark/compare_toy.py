"""The comparison of the README, on configs the project did not write: mmpretrain's own
ImageNet ResNet-50 (teacher) and ResNet-18 (student) configs, shrunk to the toy
classification data with ``--cfg-options`` only (kd_plugins.datasets.toy
``imagenet_config_options``), compared by ``tools/compare.py``.

    python tools/benchmark/compare_toy.py [--methods M5,at,dkd] [--iters 1000] [--jobs 2]
    make compare-toy

1. makes the toy classification data (data/toy_cls: 100 / 100 / 100 images per class),
2. trains the teacher from mmpretrain's own config for 30 epochs (its schedule's
   milestones moved to 20 / 27; resumed if killed, skipped once its checkpoint exists),
3. runs tools/compare.py on the pair (every run cached under --work-dir: kill and run
   again to resume) and copies compare.json / .md / .png to benchmarks/compare/<name>/.
"""
import argparse
import os
import os.path as osp
import shutil
import subprocess
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
from _common import ensure_importable  # noqa: E402

ensure_importable()

from kd_plugins.datasets.toy import imagenet_config_options  # noqa: E402

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
STUDENT = 'mmpretrain::resnet/resnet18_8xb32_in1k.py'
TEACHER = 'mmpretrain::resnet/resnet50_8xb32_in1k.py'
DATA = 'data/toy_cls'
TEACHER_EPOCHS = 30
SIZES = ['--num-train', '100', '--num-val', '100', '--num-test', '100']


def options(workers=1):
    # the configs' own linear LR scaling (lr 0.1 at batch 256) for the toy batch of 32
    opts = dict(imagenet_config_options(DATA),
                **{'optim_wrapper.optimizer.lr': 0.1 * 32 / 256})
    for loader in ('train', 'val', 'test'):
        opts[f'{loader}_dataloader.num_workers'] = workers
    return opts


def cli(opts):
    return [f'{k}={v}' for k, v in opts.items()]


def run(cmd):
    print('+', ' '.join(cmd), flush=True)
    code = subprocess.call(cmd, cwd=ROOT)
    if code:
        raise SystemExit(code)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--methods', default='M5,at,dkd')
    p.add_argument('--iters', default='1000')
    p.add_argument('--jobs', default='2')
    p.add_argument('--work-dir', default='work_dirs/compare_toy')
    p.add_argument('--name', default='mmpretrain-resnet50-resnet18_toy-cls_cpu2')
    args, rest = p.parse_known_args(argv)
    os.chdir(ROOT)
    if not osp.isfile(osp.join(DATA, 'meta.json')):
        run([sys.executable, 'tools/make_toy_data.py', 'cls', '--out', DATA, *SIZES])
    teacher_dir = osp.join(args.work_dir, 'teacher')
    ckpt = osp.join(teacher_dir, f'epoch_{TEACHER_EPOCHS}.pth')
    if not osp.isfile(ckpt):
        run([sys.executable, 'tools/train.py', TEACHER, '--work-dir', teacher_dir,
             '--resume', '--cfg-options', *cli(options()),
             f'train_cfg.max_epochs={TEACHER_EPOCHS}',
             'param_scheduler.milestones=[20,27]', 'randomness.seed=0',
             'default_hooks.checkpoint.max_keep_ckpts=1'])
    run([sys.executable, 'tools/compare.py', '--student', STUDENT, '--teacher', TEACHER,
         '--teacher-ckpt', ckpt, '--methods', args.methods, '--iters', args.iters,
         '--jobs', args.jobs, '--machine', 'cpu2', '--work-dir',
         osp.join(args.work_dir, 'compare'), *rest, '--cfg-options',
         *cli(options(workers=0))])
    out = osp.join('benchmarks', 'compare', args.name)
    os.makedirs(out, exist_ok=True)
    for name in ('compare.json', 'compare.md', 'compare.png'):
        shutil.copy(osp.join(args.work_dir, 'compare', name), osp.join(out, name))
    print(f'copied the result to {out}/')


if __name__ == '__main__':
    main()
