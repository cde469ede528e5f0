"""Run the protocol-v2 benchmarks (../shared/BENCHMARKS.md): the command line of the
engine in kd_plugins/benchmark/ (its cli.py: the options, examples and exit status).

    python tools/benchmark/run.py det --plan          # cached / to do / estimated time
    python tools/benchmark/run.py all                 # det semi cls datafree seg retrieval
    make bench TASK=det BENCH_ARGS='--plan'
"""
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
from _jobs import load_benchmark  # noqa: E402

if __name__ == '__main__':
    sys.exit(load_benchmark('cli').main())
