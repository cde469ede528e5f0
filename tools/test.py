"""Evaluate a checkpoint: bbox mAP, mIoU or accuracy, per the config's evaluator.

    python tools/test.py CONFIG CHECKPOINT [--out results.pkl] [--json metrics.json]
    mim test kd_plugins CONFIG --checkpoint CKPT
    tools/dist_test.sh CONFIG CHECKPOINT N
"""
import argparse
import json
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from _common import (add_common_args, build_runner, ensure_importable,  # noqa: E402
                     finish_dist, load_config)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Test a model (kd_plugins)')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--json', help='write the metrics as JSON to this file')
    add_common_args(parser)
    return parser.parse_args(argv)


def main(argv=None):
    ensure_importable()
    args = parse_args(argv)
    if not osp.isfile(args.checkpoint):
        raise SystemExit(f'error: checkpoint {args.checkpoint!r} not found')
    cfg = load_config(args)
    cfg.load_from = args.checkpoint
    runner = build_runner(cfg)
    metrics = runner.test()
    if args.json and runner.rank == 0:
        from kd_plugins.engine.atomic_io import atomic_write
        atomic_write(args.json, json.dumps(
            {k: float(v) if isinstance(v, (int, float)) else v
             for k, v in metrics.items()}, indent=2), 'w')
    finish_dist()
    return metrics


if __name__ == '__main__':
    main()
