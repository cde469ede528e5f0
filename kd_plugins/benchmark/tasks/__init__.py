"""The benchmark tasks, one short spec (engine.Task) each; ``TASKS`` maps the names the
command line takes (``python tools/benchmark/run.py det``) to them, in the order ``all``
runs them: semi reuses det's teacher, data-free cls's teacher and student (same configs,
data and options, hence the same cached runs); det_heads' tasks (det-retina,
det-rtmdet) share det's data.
"""
from . import cls, datafree, det, det_heads, retrieval, seg, semi

TASKS = {t.name: t for t in (det.TASK, *det_heads.TASKS, semi.TASK, cls.TASK, datafree.TASK,
                             seg.TASK, retrieval.TASK)}
