"""Train a detector, segmentor, classifier or a distillation algorithm.

    python tools/train.py CONFIG [--teacher-ckpt T.pth] [--resume [CKPT]] [--amp]
    mim train kd_plugins CONFIG [--launcher pytorch --gpus N]
    tools/dist_train.sh CONFIG N
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from _common import (add_common_args, build_runner, ensure_importable,  # noqa: E402
                     finish_dist, load_config)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Train a model (kd_plugins)')
    parser.add_argument('config', help='train config file path')
    parser.add_argument(
        '--resume', nargs='?', type=str, const='auto',
        help='resume from CKPT, or from the latest checkpoint in the work dir when '
        'no path is given')
    parser.add_argument('--amp', action='store_true',
                        help='automatic mixed precision (GPU)')
    parser.add_argument('--max-iters', type=int,
                        help='stop after this many iterations (smoke runs)')
    add_common_args(parser)
    return parser.parse_args(argv)


def main(argv=None):
    ensure_importable()
    args = parse_args(argv)
    cfg = load_config(args)
    if args.amp:
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.loss_scale = 'dynamic'
    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        if not osp.isfile(args.resume):
            raise SystemExit(f'error: --resume checkpoint {args.resume!r} not found')
        cfg.resume = True
        cfg.load_from = args.resume
    if args.max_iters is not None:
        loop = cfg.train_cfg
        loop.pop('max_epochs', None)
        loop.pop('by_epoch', None)  # mmpretrain-style loops name no type
        loop.type = 'IterBasedTrainLoop'
        loop.max_iters = args.max_iters
        loop.val_interval = args.max_iters
        loop.pop('dynamic_intervals', None)
        schedulers = cfg.get('param_scheduler', None) or []
        if isinstance(schedulers, dict):
            schedulers = [schedulers]
        # a scheduler that would start at or after the last iteration never acts (and
        # MMEngine refuses its clipped begin >= end): drop it
        schedulers = [s for s in schedulers
                      if not (isinstance(s.get('begin'), int) and s['begin'] > 0
                              and s['begin'] >= args.max_iters)]
        cfg.param_scheduler = schedulers
        for sch in schedulers:
            sch['by_epoch'] = False
            sch.pop('convert_to_iter_based', None)
            if isinstance(sch.get('end'), int) and sch['end'] > args.max_iters:
                sch['end'] = args.max_iters
            if 'T_max' in sch:
                sch['T_max'] = args.max_iters
        ckpt = cfg.default_hooks.get('checkpoint', None)
        if ckpt is not None:
            ckpt.by_epoch = False
            ckpt.interval = args.max_iters
        cfg.setdefault('log_processor', dict(type='LogProcessor'))
        cfg.log_processor.by_epoch = False
    runner = build_runner(cfg)
    runner.train()
    finish_dist()


if __name__ == '__main__':
    main()
