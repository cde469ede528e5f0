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
import os.path as osp
import statistics
import sys
import tempfile
import time

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
# iter_timing makes the project importable first (ensure_importable)
from iter_timing import build, report, sync, timing_args  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='a SemiAdaptiveDistill config')
    args = timing_args(parser, iters=10)(argv)
    runner, optim_wrapper = build(args.config, tempfile.mkdtemp(prefix='kd_semi_cost_'),
                                  args.teacher_ckpt, args.cfg_options)
    model = runner.model
    model._warned_no_unsup = True  # the halves are run one at a time on purpose
    branches = (model.sup_branch, model.unsup_branch)
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
    return report(dict(
        iters=args.iters,
        seconds_per_labeled_image=med[branches[0]],
        seconds_per_unlabeled_image=med[branches[1]],
        unlabeled_vs_labeled=med[branches[1]] / med[branches[0]]), args.json)


if __name__ == '__main__':
    main()
