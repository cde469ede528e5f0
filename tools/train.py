"""Train a detector, segmentor, classifier or a distillation algorithm.

    python tools/train.py CONFIG [--teacher-ckpt T.pth] [--resume [CKPT]]
        [--amp | --amp-dtype bfloat16] [--max-iters N]
    mim train kd_plugins CONFIG [--launcher pytorch --gpus N]
    tools/dist_train.sh CONFIG N
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from _common import (AMP_DTYPES, add_common_args, build_runner,  # noqa: E402
                     ensure_importable, finish_dist, load_config, use_amp)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Train a model (kd_plugins)')
    parser.add_argument('config', help='train config file path')
    parser.add_argument(
        '--resume', nargs='?', type=str, const='auto',
        help='resume from CKPT, or from the latest checkpoint in the work dir when '
        'no path is given')
    parser.add_argument('--amp', action='store_true',
                        help='automatic mixed precision (GPU), float16')
    parser.add_argument('--amp-dtype', choices=AMP_DTYPES,
                        help='automatic mixed precision in this dtype (implies --amp)')
    parser.add_argument('--max-iters', type=int,
                        help='stop after this many iterations (smoke runs)')
    add_common_args(parser)
    return parser.parse_args(argv)


def configure(cfg, resume=None, amp_dtype=None, max_iters=None):
    """Apply the command line's --resume, --amp / --amp-dtype and --max-iters to
    ``cfg`` (in place; returned)."""
    if amp_dtype:
        use_amp(cfg, amp_dtype)
    if resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif resume is not None:
        if not osp.isfile(resume):
            raise SystemExit(f'error: --resume checkpoint {resume!r} not found')
        cfg.resume = True
        cfg.load_from = resume
    if max_iters is not None:
        loop = cfg.train_cfg
        loop.pop('max_epochs', None)
        loop.pop('by_epoch', None)  # mmpretrain-style loops name no type
        loop.type = 'IterBasedTrainLoop'
        loop.max_iters = max_iters
        loop.val_interval = max_iters
        loop.pop('dynamic_intervals', None)
        schedulers = cfg.get('param_scheduler', None) or []
        if isinstance(schedulers, dict):
            schedulers = [schedulers]
        # a scheduler that would start at or after the last iteration never acts (and
        # MMEngine refuses its clipped begin >= end): drop it
        schedulers = [s for s in schedulers
                      if not (isinstance(s.get('begin'), int) and s['begin'] > 0
                              and s['begin'] >= max_iters)]
        cfg.param_scheduler = schedulers
        for sch in schedulers:
            sch['by_epoch'] = False
            sch.pop('convert_to_iter_based', None)
            if isinstance(sch.get('end'), int) and sch['end'] > max_iters:
                sch['end'] = max_iters
            if 'T_max' in sch:
                sch['T_max'] = max_iters
        ckpt = cfg.default_hooks.get('checkpoint', None)
        if ckpt is not None:
            ckpt.by_epoch = False
            ckpt.interval = max_iters
        cfg.setdefault('log_processor', dict(type='LogProcessor'))
        cfg.log_processor.by_epoch = False
    return cfg


def main(argv=None):
    ensure_importable()
    args = parse_args(argv)
    amp_dtype = args.amp_dtype or ('float16' if args.amp else None)
    cfg = configure(load_config(args), args.resume, amp_dtype, args.max_iters)
    runner = build_runner(cfg)
    runner.train()
    finish_dist()


if __name__ == '__main__':
    main()
