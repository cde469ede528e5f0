"""Per-iteration training cost of distillation configs, measured in one process.

    python tools/benchmark/iter_timing.py --student CFG --method NAME=CFG ... \
        --teacher-ckpt T.pth [--iters 12] [--warmup 2] [--json out.json] \
        [--cfg-options k=v ...]

Every model is built from its config, the same fixed batches are taken from the
student's training dataloader, and in each round every model does one real
``train_step`` (forward, backward, optimizer step) on the same batch, in turn, so slow
phases of the machine hit every model alike. Reported per model: the median seconds per
iteration. The floor is one student training iteration plus one teacher inference (the
teacher of the first method config, its own preprocessing, ``no_grad``): what any
distillation must at least pay. Also reported: whether the teacher ran without autograd
(no recorded teacher tensor requires grad or carries a graph).
"""
import argparse
import json
import os.path as osp
import statistics
import sys
import tempfile
import time

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
from _common import ensure_importable, read_config  # noqa: E402

ensure_importable()

import torch  # noqa: E402
from mmengine.config import DictAction  # noqa: E402
from mmengine.runner import Runner  # noqa: E402

from kd_plugins.engine.atomic_io import atomic_write  # noqa: E402


def build(cfg_path, work_dir, teacher_ckpt, options):
    cfg = read_config(cfg_path, options, teacher_ckpt, work_dir)
    cfg.default_hooks.logger.interval = 10**6
    cfg.log_level = 'WARNING'
    cfg.visualizer = dict(type='Visualizer', vis_backends=[])
    runner = Runner.from_cfg(cfg)
    optim_wrapper = runner.build_optim_wrapper(cfg.optim_wrapper)
    runner.model.train()
    return runner, optim_wrapper


def teacher_has_no_graph(model):
    """True if every tensor the teacher recorders hold is free of autograd."""
    recorders = model.distiller.teacher_recorders.recorders
    seen = 0
    for rec in recorders.values():
        stack = list(rec.data_buffer)
        while stack:
            x = stack.pop()
            if torch.is_tensor(x):
                seen += 1
                if x.requires_grad or x.grad_fn is not None:
                    return False
            elif isinstance(x, (list, tuple)):
                stack.extend(x)
    return seen > 0


def timing_args(parser, iters):
    """Arguments every timing tool takes; ``parse`` checks them."""
    parser.add_argument('--teacher-ckpt', help='local teacher checkpoint')
    parser.add_argument('--iters', type=int, default=iters, help='timed rounds')
    parser.add_argument('--warmup', type=int, default=2, help='untimed rounds first')
    parser.add_argument('--json', help='write the result here')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default={})

    def parse(argv):
        args = parser.parse_args(argv)
        if args.iters < 1 or args.warmup < 0:
            parser.error('--iters must be >= 1 and --warmup >= 0')
        return args
    return parse


def sync():
    """Wait for queued GPU work (nothing to wait for on CPU) before reading a clock."""
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def report(result, json_path=None):
    """Add the machine's threads / device, print ``result`` and write it (atomic)."""
    result = dict(result, threads=torch.get_num_threads(),
                  device='cuda' if torch.cuda.is_available() else 'cpu')
    text = json.dumps(result, indent=2)
    print(text)
    if json_path:
        atomic_write(json_path, text, mode='w')
    return result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--student', required=True, help='no-KD student config')
    parser.add_argument('--method', action='append', required=True,
                        help='NAME=CONFIG of a distillation config (repeatable)')
    args = timing_args(parser, iters=12)(argv)
    methods = []
    for spec in args.method:
        name, sep, path = spec.partition('=')
        if not sep or not osp.isfile(path):
            parser.error(f'--method {spec!r}: expected NAME=CONFIG with an existing file')
        methods.append((name, path))

    tmp = tempfile.mkdtemp(prefix='kd_timing_')
    models = {}
    runner, student_ow = build(args.student, osp.join(tmp, 'student'), None,
                               args.cfg_options)
    models['student'] = (runner.model, student_ow)
    loader = runner.train_dataloader
    batches = []
    for batch in loader:
        batches.append(batch)
        if len(batches) == args.iters + args.warmup:
            break
    for name, path in methods:
        r, ow = build(path, osp.join(tmp, name.replace(':', '_')), args.teacher_ckpt,
                      args.cfg_options)
        models[name] = (r.model, ow)
    first = models[methods[0][0]][0]
    teacher = first.teacher

    def teacher_inference(batch):
        with torch.no_grad():
            data = teacher.data_preprocessor(batch, False)
            teacher(data['inputs'], data['data_samples'], mode='tensor')

    steps = {name: (lambda b, m=m, ow=ow: m.train_step(b, ow))
             for name, (m, ow) in models.items()}
    steps['teacher_inference'] = teacher_inference
    times = {name: [] for name in steps}
    for i, batch in enumerate(batches):
        for name, step in steps.items():
            sync()
            t0 = time.perf_counter()
            step(batch)
            sync()
            if i >= args.warmup:
                times[name].append(time.perf_counter() - t0)
    med = {name: statistics.median(v) for name, v in times.items()}
    floor = med['student'] + med['teacher_inference']
    return report(dict(
        iters=args.iters,
        seconds_per_iter=med,
        floor_seconds=floor,
        time_per_iter_ratio={n: med[n] / med['student'] for n, _ in methods},
        overhead_vs_floor={n: med[n] / floor for n, _ in methods},
        teacher_without_autograd={n: teacher_has_no_graph(models[n][0])
                                  for n, _ in methods}), args.json)


if __name__ == '__main__':
    main()
