"""The protocol-v2 benchmark engine (../shared/BENCHMARKS.md): task specs (spec.py,
tasks/), runs, the sweep on val, the seeds on test, cache and resume (engine.py), the
JSON / markdown / plot and the README embeds (report.py), the command line (cli.py;
``python tools/benchmark/run.py``) and the subprocess jobs they run (jobs.py).

Stdlib only at import time (no torch, no mmengine): the command line loads this folder
by file path without ``kd_plugins/__init__`` (tools/_jobs.py ``load_benchmark``), so
keep this file empty of imports and the modules' own imports light.
"""
