"""Run the protocol-v2 benchmarks (../shared/BENCHMARKS.md) with the one engine.

    python tools/benchmark/run.py det                 # one task (2 CPU cores: cpu2)
    python tools/benchmark/run.py all                 # det semi cls datafree seg retrieval
    python tools/benchmark/run.py det --plan          # cached / to do / estimated time
    python tools/benchmark/run.py det --rows M1 mmrazor:cwd   # run only these (+ student)
    python tools/benchmark/run.py det --rerun M1      # drop M1's cached runs (new code)
    python tools/benchmark/run.py det --scale 4 --machine h200 --jobs 4   # on a GPU
    python tools/benchmark/run.py det --smoke --seeds 0     # minutes: does it all run?
    make bench TASK=det BENCH_ARGS='--plan'

Per task: the teacher(s) once, every distilling row's loss weights at x0.25 / x1 / x4
(seed 100, scored on val), the best scale on seeds 0 1 2 (test), the other rows on the
seeds; ``--jobs`` runs at a time, each with cores // jobs threads; then one interleaved
timing process. Writes benchmarks/results/<task>-<dataset>-<machine>.json,
benchmarks/<same>.md and .png, the table into each row's README folder and the
README's summary (between its markers) unless --no-embed (--smoke writes under the
work dir only). Every run is cached under --work-dir: kill the command at any moment and
run it again to resume; a failed run is run again. Exit status: 0 when everything ran,
1 when a run failed, 2 for a bad argument or task spec.
"""
import argparse
import os
import os.path as osp
import shlex
import signal
import sys
import threading

from .engine import Bench, Results, Settings, SubprocessRunner, lock_work_dir
from .jobs import ROOT, log
from .report import publish
from .spec import REPORT_SEEDS, SpecError, seeds_problem, validate
from .tasks import TASKS


def positive(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f'must be >= 1, got {value}')
    return value


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('task', choices=[*TASKS, 'all'], help='the task, or all of them')
    p.add_argument('--scale', type=positive, default=1,
                   help='data (and iteration schedules) x N, same protocol (GPU machines)')
    p.add_argument('--machine', default='cpu2', help='machine tag of the result files')
    p.add_argument('--jobs', type=positive, default=2, help='runs at a time (default 2)')
    p.add_argument('--seeds', type=int, nargs='+', default=list(REPORT_SEEDS),
                   help='reporting seeds (default 0 1 2; at least 3 unless --smoke)')
    p.add_argument('--rows', nargs='+', help='run only these rows (and the teacher and '
                   'student); the files list every row that is finished')
    p.add_argument('--rerun', nargs='+', default=[], metavar='ROW',
                   help="discard these rows' cached runs first (e.g. after a code change)")
    p.add_argument('--plan', action='store_true',
                   help='print the runs (cached / to do) and the estimated time; run none')
    p.add_argument('--work-dir', default='work_dirs/bench', help='runs and their cache')
    p.add_argument('--out', default=None, help='results folder (default benchmarks)')
    p.add_argument('--no-embed', action='store_true',
                   help="do not write the tables into the READMEs")
    p.add_argument('--smoke', action='store_true',
                   help='tiny schedules, fewer seeds allowed; files under the work dir')
    args = p.parse_args(argv)
    if seeds_problem(args.seeds):
        p.error(seeds_problem(args.seeds))
    if len(args.seeds) < 3 and not args.smoke:
        p.error('protocol v2 reports at least 3 seeds (--smoke for a quick try)')
    tasks = list(TASKS) if args.task == 'all' else [args.task]
    known = sorted({n for t in tasks for n in TASKS[t].row_names()})
    for flag in ('rows', 'rerun'):
        unknown = [n for n in getattr(args, flag) or [] if n not in known]
        if unknown:
            p.error(f'--{flag}: unknown row(s) {unknown}; known: {known}')
    if args.out is None:
        args.out = osp.join(args.work_dir, 'smoke-out') if args.smoke else 'benchmarks'
    return p, args, tasks


def command(argv, task):
    """The command that reproduces one task's files."""
    argv = list(sys.argv[1:] if argv is None else argv)
    argv = [task if a == 'all' else a for a in argv]
    return ' '.join(['python', 'tools/benchmark/run.py', *(shlex.quote(a) for a in argv)])


def stop(signum, frame):
    """SIGTERM ends the benchmark like Ctrl-C: the running runs are ended too."""
    raise KeyboardInterrupt(f'signal {signum}')


def main(argv=None, runner=None, say=log):
    parser, args, tasks = parse_args(argv)
    os.chdir(ROOT)
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, stop)
    for name in tasks:
        try:
            validate(TASKS[name], args.scale)
        except SpecError as e:
            parser.exit(2, f'{parser.prog}: error: {e}\n')
    fds = [] if args.plan else lock_work_dir(
        args.work_dir, [osp.basename(TASKS[n].data.root) for n in tasks])
    try:
        return run_tasks(args, tasks, argv, runner or SubprocessRunner(pass_fds=fds), say)
    finally:
        for fd in fds:
            os.close(fd)


def run_tasks(args, tasks, argv, runner, say):
    ok = True
    for name in tasks:
        task = TASKS[name]
        settings = Settings(
            scale=args.scale, machine=args.machine, jobs=args.jobs,
            seeds=tuple(args.seeds), work_dir=args.work_dir, out=args.out,
            embed=not (args.no_embed or args.smoke), smoke=args.smoke,
            rows=None if not args.rows else tuple(r for r in args.rows
                                                  if r in task.row_names()),
            rerun=tuple(r for r in args.rerun if r in task.row_names()),
            command=command(argv, name))
        bench = Bench(task, settings, runner, say=say)
        if args.plan:
            bench.plan_only()
            continue
        plan = bench.execute()
        doc = publish(Results(task, settings, plan, bench.meta), say=say)
        missing = [n for n, st in plan.rows.items() if st.selected and not st.complete]
        if doc['failed'] or missing:
            ok = False
            say(f'[{name}] not complete: {", ".join(missing) or "timing"} (see the failed '
                'runs above; run the same command again to retry them)')
    return 0 if ok else 1
