"""Running training / test jobs as subprocesses with a progress line (demo, benchmarks).

The job runner itself (``run_logged``, ``log``, ``write_json``, ``ROOT``) lives in the
package, kd_plugins/benchmark/jobs.py; :func:`load_benchmark` loads it (and the rest of
kd_plugins/benchmark) by file path, without importing ``kd_plugins`` and the OpenMMLab
stack, so the tools that use this start fast. ``run`` is the demo's form of
``run_logged`` (exits on failure).
"""
import importlib
import importlib.util
import os
import os.path as osp
import re
import shlex
import sys
import time

TOOLS = osp.dirname(osp.realpath(__file__))
METRIC = re.compile(r'coco/bbox_mAP: ([0-9.-]+)\s+coco/bbox_mAP_50: ([0-9.-]+)')


def load_benchmark(module):
    """``kd_plugins.benchmark.<module>`` without importing all of kd_plugins.

    ``import kd_plugins`` registers every model and needs the whole OpenMMLab stack;
    the benchmark package needs the standard library only, so from a checkout its folder
    is loaded directly (under a private name, as tools/make_toy_data.py loads the toy
    data makers). From an installed package the normal import is used.
    """
    name = '_kd_plugins_benchmark'
    if load_folder(osp.join(osp.dirname(TOOLS), 'kd_plugins', 'benchmark'), name) is None:
        return importlib.import_module(f'kd_plugins.benchmark.{module}')
    return importlib.import_module(f'{name}.{module}')


def load_folder(folder, name):
    """The package in ``folder`` loaded by file path as module ``name`` (once), without
    importing the packages above it; None when ``folder`` has no ``__init__.py`` (not a
    checkout: the caller imports the installed package instead)."""
    init = osp.join(folder, '__init__.py')
    if not osp.isfile(init):
        return None
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            name, init, submodule_search_locations=[folder])
        package = importlib.util.module_from_spec(spec)
        sys.modules[name] = package
        try:
            spec.loader.exec_module(package)
        except BaseException:
            del sys.modules[name]
            raise
    return sys.modules[name]


_jobs = load_benchmark('jobs')
ROOT, log, run_logged, write_json = _jobs.ROOT, _jobs.log, _jobs.run_logged, _jobs.write_json
write_text = _jobs.write_text


def run(cmd, logfile, tag, epochs=None, threads=None):
    """Run ``cmd`` from the project root; full output to ``logfile``, one progress line
    per log interval; ``threads``: its CPU threads (OMP / MKL). Returns
    ``(seconds, peak_rss_mb)``; exits with the log's tail on failure."""
    t0 = time.time()

    def show(p):
        where = f'epoch {p["epoch"]}/{epochs} ' if p['epoch'] is not None else ''
        log(f'  [{tag}] {where}iter {p["iter"]}/{p["iters"]}  loss {p["loss"]}  '
            f'eta {p["eta"]}  ({time.time() - t0:.0f} s)')

    env = None if threads is None else dict(
        os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    code, secs, rss = run_logged([cmd], logfile, env=env, on_progress=show)
    if code != 0:
        raise SystemExit(f'{tag} failed (exit {code}); last lines of {logfile}:\n'
                         f'{log_tail(logfile)}')
    return secs, rss


def log_tail(logfile, lines=30):
    try:
        with open(logfile) as f:
            return ''.join(f.readlines()[-lines:])
    except OSError:
        return ''


def schedule_options(length, seed=0, validate=False, iters=False):
    """--cfg-options that shorten the toy schedule to ``length`` epochs (cosine to the
    end), or ``length`` iterations of an iteration-based config when ``iters``,
    validating once at the end when ``validate``."""
    val_interval = length if validate else length + 1
    loop_key = 'max_iters' if iters else 'max_epochs'
    return [f'train_cfg.{loop_key}={length}', f'train_cfg.val_interval={val_interval}',
            f'param_scheduler.1.end={length}', f'param_scheduler.1.T_max={length}',
            f'default_hooks.checkpoint.interval={length}', f'randomness.seed={seed}']


def last_bbox_metrics(text):
    """``(bbox_mAP, AP50)`` of the last COCO evaluation in a log, or None."""
    found = METRIC.findall(text)
    if not found:
        return None
    return float(found[-1][0]), float(found[-1][1])


def command_line(script, argv):
    """The command that reproduces a run of ``tools/benchmark/<script>``."""
    return ' '.join(['python', f'tools/benchmark/{script}', *(
        shlex.quote(a) for a in (sys.argv[1:] if argv is None else argv))])
