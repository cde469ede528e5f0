"""The benchmark tasks, one short spec (engine.Task) each; ``TASKS`` maps the names the
command line takes (``python tools/benchmark/run.py det``) to them, in the order ``all``
runs them: semi reuses det's teacher, data-free cls's teacher and student (same configs,
data and options, hence the same cached runs)."""
from . import cls, datafree, det, retrieval, seg, semi

TASKS = {m.TASK.name: m.TASK for m in (det, semi, cls, datafree, seg, retrieval)}
