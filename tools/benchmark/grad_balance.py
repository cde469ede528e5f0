"""How strongly each distillation term pulls on the student, against its task loss.

    python tools/benchmark/grad_balance.py CFG [CFG ...] --teacher-ckpt T.pth \
        [--student-ckpt S.pth] [--batches 2] [--cfg-options k=v ...]
    # a multi-teacher (M6) config: each teacher's checkpoint as a config option
    python tools/benchmark/grad_balance.py M6_CFG --student-ckpt S.pth \
        --cfg-options model.teachers.unet.ckpt_path=U.pth model.teachers.dlv3.ckpt_path=D.pth

For each distillation config, on the same training batches: the gradient norm (over the
student's parameters) of the student's task loss and of each group of distillation
losses (``distill.loss_neck0..2`` form the group ``neck``), and their ratio. A term whose
gradient is a thousandth of the task gradient does little; one ten times larger drowns
the labels. The toy configs' loss weights were set with this tool so that every method,
ours and MMRazor's alike, pulls with roughly 0.4-1x the task gradient at a trained no-KD
student (``--student-ckpt`` of the benchmark's student run): one rule for all rows of the
benchmark, instead of per-method tuning.

``--side teacher`` measures the same on the teacher's parameters against the teacher's
task loss, for methods that train the teacher too (M8's feedback term):

    python tools/benchmark/grad_balance.py M8_CFG --teacher-ckpt T.pth \
        --student-ckpt S.pth --side teacher

Warm-ups are measured as finished (the runner's iteration is set far past them).
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
from _common import ensure_importable, read_config  # noqa: E402

ensure_importable()

import torch  # noqa: E402
from mmengine.config import DictAction  # noqa: E402
from mmengine.registry import init_default_scope  # noqa: E402
from mmrazor.registry import MODELS  # noqa: E402

from kd_plugins.autowire.balance import build_loader, group_pulls, loss_pulls  # noqa: E402
from kd_plugins.compat import load_local_checkpoint  # noqa: E402


def measure(cfg_path, teacher_ckpt, student_ckpt, batches, options, side='student'):
    cfg = read_config(cfg_path, options, teacher_ckpt)
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    torch.manual_seed(0)
    algo = MODELS.build(cfg.model)
    if student_ckpt:
        state = load_local_checkpoint(student_ckpt)
        algo.student.load_state_dict(state.get('state_dict', state))
    try:
        pulls = loss_pulls(algo, batches, side)
    except ValueError as err:
        raise SystemExit(f'{osp.basename(cfg_path)}: {err} in this config') from None
    return dict(task=pulls['task'], **group_pulls(pulls))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('configs', nargs='+', help='distillation configs')
    parser.add_argument('--teacher-ckpt',
                        help='the teacher checkpoint of a single-teacher config')
    parser.add_argument('--student-ckpt', help='a trained no-KD student checkpoint')
    parser.add_argument('--batches', type=int, default=2)
    parser.add_argument('--side', choices=('student', 'teacher'), default='student',
                        help='whose parameters the gradients are taken over (teacher: '
                        'for methods that train it, e.g. M8)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default={})
    args = parser.parse_args(argv)
    first = read_config(args.configs[0], args.cfg_options)
    it = iter(build_loader(first, 'train'))
    batches = [next(it) for _ in range(args.batches)]
    results = {}
    for path in args.configs:
        res = measure(path, args.teacher_ckpt, args.student_ckpt, batches,
                      args.cfg_options, args.side)
        results[path] = res
        task = res['task']
        parts = ', '.join(f'{k} {v:.3g} ({v / task:.2f}x)' for k, v in res.items()
                          if k != 'task')
        total = sum(v for k, v in res.items() if k != 'task')
        print(f'{osp.basename(path)} ({args.side}): task grad {task:.3g}; {parts}; '
              f'sum {total / task:.2f}x', flush=True)
    return results


if __name__ == '__main__':
    main()
