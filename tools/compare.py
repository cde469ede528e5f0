"""Which distillation method helps my student, on my data, at what cost: compare methods
on your own teacher / student pair (the command line of kd_plugins/benchmark/compare.py:
its docstring has the options, examples and exit status).

    python tools/compare.py --student S.py --teacher T.py --teacher-ckpt T.pth \
        --methods M4,cwd,pkd --iters 2000
    mim run kd_plugins compare --student S.py ...
"""
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from _common import ensure_importable  # noqa: E402

ensure_importable()

if __name__ == '__main__':
    from kd_plugins.benchmark.compare import main
    sys.exit(main())
