"""Per-iteration training cost of distillation configs, measured in one process.

    python tools/benchmark/iter_timing.py --student CFG --method NAME=CFG ... \
        [--teacher-ckpt T.pth] [--iters 12] [--warmup 2] [--json out.json] \
        [--cfg-options k=v ...]

The benchmark engine (kd_plugins/benchmark/engine.py) passes the resolved configs of its
runs (teacher checkpoints already inside). Every model is built from its config; the
student's training dataloader gives a fixed list of batches, which every method whose
training loader is configured like the student's uses too (a method with its own loader
- labeled + unlabeled batches, a data-free generator's placeholder - takes its own).
In each round every model does one real ``train_step`` (forward, backward, optimizer
step; several networks, generator and student steps, whatever the algorithm's step
holds), in turn, and each method's teachers (one, or several for a multi-teacher
method) do one inference (no_grad, their own preprocessing) on the student's batch, so
slow phases of the machine hit every model alike. Reported: the median seconds per
iteration of each model; each method's floor = one student training iteration + the
inference of every teacher it uses (what any distillation must at least pay); the
ratios to the student and to the floor; whether the teachers ran without autograd
(methods with teacher recorders). Warm-ups inside the algorithms count as finished
(the message hub's iteration is set far past them).
"""
import argparse
import copy
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
from mmengine.logging import MessageHub  # noqa: E402
from mmengine.runner import Runner  # noqa: E402

from kd_plugins.engine.atomic_io import atomic_write  # noqa: E402

FAR = 10**6  # "iteration" the algorithms see: every warm-up is over


def build(cfg_path, work_dir, teacher_ckpt, options):
    """(runner, optim wrapper, config) of one training config, in training mode."""
    cfg = read_config(cfg_path, options, teacher_ckpt, work_dir)
    return (*runner_for(cfg), cfg)


def runner_for(cfg):
    """(runner, optim wrapper) of a read config, in training mode, quiet (no logging
    interval reached, no visualizer backends)."""
    if cfg.get('default_hooks', {}).get('logger') is not None:
        cfg.default_hooks.logger.interval = FAR
    cfg.log_level = 'WARNING'
    cfg.visualizer = dict(type='Visualizer', vis_backends=[])
    runner = Runner.from_cfg(cfg)
    optim_wrapper = runner.build_optim_wrapper(cfg.optim_wrapper)
    runner.model.train()
    return runner, optim_wrapper


def teachers_of(model):
    """The teacher network(s) of a distillation model (``teacher`` or ``teachers``)."""
    model = getattr(model, 'module', model)
    teacher = getattr(model, 'teacher', None)
    if isinstance(teacher, torch.nn.Module):
        return [teacher]
    teachers = getattr(model, 'teachers', None)
    if isinstance(teachers, (torch.nn.ModuleDict, dict)):
        return [t for t in teachers.values() if isinstance(t, torch.nn.Module)]
    return []


def teacher_has_no_graph(model):
    """True if every tensor the teacher recorders hold is free of autograd; None for a
    model without teacher recorders."""
    distiller = getattr(getattr(model, 'module', model), 'distiller', None)
    recorders = getattr(getattr(distiller, 'teacher_recorders', None), 'recorders', None)
    if not recorders:
        return None
    seen = 0
    for rec in recorders.values():
        stack = list(getattr(rec, 'data_buffer', []))
        while stack:
            x = stack.pop()
            if torch.is_tensor(x):
                seen += 1
                if x.requires_grad or x.grad_fn is not None:
                    return False
            elif isinstance(x, (list, tuple)):
                stack.extend(x)
    return seen > 0 if seen else None


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


def take(cfg, n):
    """``n`` training batches of a config, from a loader of their own (the runner's loop
    keeps its loader: a second iterator over an InfiniteSampler would end the first)."""
    loader = Runner.build_dataloader(copy.deepcopy(cfg.train_dataloader),
                                     seed=cfg.get('randomness', {}).get('seed', 0))
    batches = []
    for batch in loader:
        batches.append(batch)
        if len(batches) == n:
            return batches
    if not batches:
        raise SystemExit('a training dataloader gave no batch')
    return [batches[i % len(batches)] for i in range(n)]


def inference(teachers):
    """A step that runs every teacher once on a batch (no_grad, eval mode)."""
    def step(batch):
        with torch.no_grad():
            for t in teachers:
                was = t.training
                t.eval()
                data = t.data_preprocessor(batch, False)
                t(data['inputs'], data['data_samples'], mode='tensor')
                t.train(was)
    return step


def interleave(steps, batch_of, rounds, warmup, optional=()):
    """Run every step of ``steps`` (name -> callable(batch)) once per round, in turn,
    ``rounds`` times, so slow phases of the machine hit every step alike.

    Returns ``(times, peaks, failed)``: the seconds of each step in the rounds after
    ``warmup``; on CUDA the most GPU memory (bytes) a step allocated above what was
    allocated before it (None on CPU); and ``repr`` of the exception of each step named
    in ``optional`` that raised (it is not run again; any other step's error is raised).
    ``batch_of(name, round)`` gives a step's batch."""
    hub = MessageHub.get_current_instance()
    cuda = torch.cuda.is_available()
    times = {name: [] for name in steps}
    peaks = {name: 0 if cuda else None for name in steps}
    failed = {}
    for i in range(rounds):
        hub.update_info('iter', FAR + i)
        for name, step in steps.items():
            if name in failed:
                continue
            batch = batch_of(name, i)
            sync()
            if cuda:
                torch.cuda.reset_peak_memory_stats()
                base = torch.cuda.memory_allocated()
            t0 = time.perf_counter()
            try:
                step(batch)
            except Exception as e:  # noqa: BLE001 - e.g. a teacher that cannot take it
                if name not in optional:
                    raise
                failed[name] = repr(e)
                continue
            sync()
            if i >= warmup:
                times[name].append(time.perf_counter() - t0)
                if cuda:
                    peaks[name] = max(peaks[name], torch.cuda.max_memory_allocated() - base)
    return times, peaks, failed


def time_models(models, batch_of, rounds, warmup):
    """Interleaved timing of ``models`` (name -> (model, optim wrapper), one of them
    ``'student'``): per round, the teachers of every other model do one inference
    (``'<name>:teachers'``; teachers first, so the last thing each model's teachers ran
    is its own step; a failure there is recorded, not raised), then every model one
    ``train_step``. ``batch_of(name, round)`` gives each step's batch.

    Returns ``(med, floor, peaks, failed)``: the median seconds of every step after
    ``warmup``, each distilling model's floor (student step + its teachers' inference),
    and :func:`interleave`'s peaks and failures."""
    steps = {name: (lambda b, m=m, ow=ow: m.train_step(b, ow))
             for name, (m, ow) in models.items()}
    infer = {f'{name}:teachers': inference(teachers_of(m))
             for name, (m, _) in models.items() if name != 'student'}
    times, peaks, failed = interleave({**infer, **steps}, batch_of, rounds, warmup,
                                      optional=list(infer))
    med = {name: statistics.median(v) for name, v in times.items() if v}
    floor = {name[:-len(':teachers')]: med['student'] + v for name, v in med.items()
             if name.endswith(':teachers')}
    return med, floor, peaks, failed


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
    n = args.iters + args.warmup
    runner, student_ow, s_cfg = build(args.student, osp.join(tmp, 'student'), None,
                                      args.cfg_options)
    student_batches = take(s_cfg, n)
    models, batches, own = {'student': (runner.model, student_ow)}, {}, {}
    for name, path in methods:
        r, ow, cfg = build(path, osp.join(tmp, name.replace(':', '_')), args.teacher_ckpt,
                           args.cfg_options)
        models[name] = (r.model, ow)
        own[name] = cfg.train_dataloader.to_dict() != s_cfg.train_dataloader.to_dict()
        batches[name] = take(cfg, n) if own[name] else student_batches
    batches['student'] = student_batches
    med, floor, _, failed = time_models(
        models, lambda name, i: (student_batches if name.endswith(':teachers')
                                 else batches[name])[i], n, args.warmup)
    student = med['student']
    return report(dict(
        iters=args.iters, warmup=args.warmup,
        seconds_per_iter={k: v for k, v in med.items() if not k.endswith(':teachers')},
        teacher_inference={k[:-len(':teachers')]: v for k, v in med.items()
                           if k.endswith(':teachers')},
        floor_seconds=floor,
        time_per_iter_ratio={name: med[name] / student for name, _ in methods},
        overhead_vs_floor={name: med[name] / floor[name] for name, _ in methods
                           if name in floor},
        teacher_without_autograd={name: teacher_has_no_graph(models[name][0])
                                  for name, _ in methods},
        own_batches={name: own[name] for name, _ in methods},
        floor_errors=failed), args.json)


if __name__ == '__main__':
    main()
