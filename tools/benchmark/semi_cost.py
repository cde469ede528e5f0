"""Training cost of a labeled vs an unlabeled image in a semi-supervised distillation
step (M3), measured in one process.

    python tools/benchmark/semi_cost.py CFG --teacher-ckpt T.pth [--iters 10] \
        [--warmup 2] [--json out.json] [--cfg-options k=v ...]

The config's own training dataloader gives mixed batches (``sup`` + ``unsup``
branches); each round prepares one batch, then runs, in alternating order, the labeled
half (teacher forward, student task loss, distillation losses, backward) and the
unlabeled half (teacher and student in tensor mode, distillation losses, backward).
Reported: median seconds per image of each half and their ratio (unlabeled / labeled;
<= 1 means an unlabeled image costs no more than a labeled one).
"""
import argparse
import json
import os.path as osp
import statistics
import sys
import tempfile
import time

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
from _common import ensure_importable  # noqa: E402

ensure_importable()

import torch  # noqa: E402
from mmengine.config import DictAction  # noqa: E402

from kd_plugins.engine.atomic_io import atomic_write  # noqa: E402

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from iter_timing import build  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='a SemiAdaptiveDistill config')
    parser.add_argument('--teacher-ckpt', help='local teacher checkpoint')
    parser.add_argument('--iters', type=int, default=10, help='timed rounds')
    parser.add_argument('--warmup', type=int, default=2, help='untimed rounds first')
    parser.add_argument('--json', help='write the result here')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default={})
    args = parser.parse_args(argv)
    if args.iters < 1 or args.warmup < 0:
        parser.error('--iters must be >= 1 and --warmup >= 0')
    runner, optim_wrapper = build(args.config, tempfile.mkdtemp(prefix='kd_semi_cost_'),
                                  args.teacher_ckpt, args.cfg_options)
    model = runner.model
    model._warned_no_unsup = True  # the halves are run one at a time on purpose
    branches = (model.sup_branch, model.unsup_branch)
    sync = torch.cuda.synchronize if torch.cuda.is_available() else (lambda: None)
    per_image = {b: [] for b in branches}
    for i, batch in enumerate(runner.train_dataloader):
        if i == args.iters + args.warmup:
            break
        data = model.data_preprocessor(batch, True)
        missing = [b for b in branches if b not in data['inputs']]
        if missing:
            raise SystemExit(f'{args.config}: a training batch has no {missing} branch')
        for b in (branches if i % 2 == 0 else branches[::-1]):
            optim_wrapper.zero_grad()
            sync()
            t0 = time.perf_counter()
            losses = model.loss({b: data['inputs'][b]}, {b: data['data_samples'][b]})
            loss, _ = model.parse_losses(losses)
            loss.backward()
            sync()
            if i >= args.warmup:
                per_image[b].append((time.perf_counter() - t0) /
                                    data['inputs'][b].size(0))
    med = {b: statistics.median(v) for b, v in per_image.items()}
    result = dict(
        iters=args.iters,
        seconds_per_labeled_image=med[branches[0]],
        seconds_per_unlabeled_image=med[branches[1]],
        unlabeled_vs_labeled=med[branches[1]] / med[branches[0]],
        threads=torch.get_num_threads(),
        device='cuda' if torch.cuda.is_available() else 'cpu')
    text = json.dumps(result, indent=2)
    print(text)
    if args.json:
        atomic_write(args.json, text, mode='w')
    return result


if __name__ == '__main__':
    main()
