"""Running training / test jobs as subprocesses with a progress line (demo, benchmarks).

Stdlib only, so the tools that use it start fast and need nothing installed to import.
``run_logged`` is what the benchmark engine (tools/benchmark/engine.py) runs its jobs
with; ``run`` is the demo's form of it (exits on failure).
"""
import json
import os
import os.path as osp
import re
import shlex
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROGRESS = re.compile(r'Epoch\(train\)\s*\[(\d+)\]\s*\[\s*(\d+)/(\d+)\].*?eta: (\S+)'
                      r'.*?\sloss: ([0-9.]+)')
ITER_PROGRESS = re.compile(r'Iter\(train\)\s*\[\s*(\d+)/(\d+)\].*?eta: (\S+)'
                           r'.*?\sloss: ([0-9.]+)')
METRIC = re.compile(r'coco/bbox_mAP: ([0-9.-]+)\s+coco/bbox_mAP_50: ([0-9.-]+)')


def log(msg):
    print(msg, flush=True)


def parse_progress(line):
    """``dict(epoch, iter, iters, eta, loss)`` of a training log line (``epoch`` None for
    an iteration-based loop), or None when the line is not a progress line."""
    m = PROGRESS.search(line)
    if m:
        ep, it, n, eta, loss = m.groups()
        return dict(epoch=int(ep), iter=int(it), iters=int(n), eta=eta, loss=float(loss))
    m = ITER_PROGRESS.search(line)
    if m:
        it, n, eta, loss = m.groups()
        return dict(epoch=None, iter=int(it), iters=int(n), eta=eta, loss=float(loss))
    return None


def run_logged(cmds, logfile, env=None, on_progress=None, pass_fds=(), started=None):
    """Run the commands ``cmds`` (argv lists) one after the other from the project root,
    all output to ``logfile``; stop at the first that fails. ``on_progress(dict)`` gets
    every training progress line (:func:`parse_progress`); ``started(proc)`` each process
    once it runs (to stop it from outside). Returns ``(returncode, seconds,
    peak_rss_mb)``: the peak is the largest child's resident memory."""
    t0 = time.time()
    peak = 0.0
    code = 0
    env = dict(os.environ if env is None else env, PYTHONUNBUFFERED='1',
               PYTHONWARNINGS='ignore')
    with open(logfile, 'w') as f:
        for cmd in cmds:
            f.write(f'$ {" ".join(shlex.quote(c) for c in cmd)}\n')
            f.flush()
            proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT, text=True, bufsize=1,
                                    env=env, pass_fds=tuple(pass_fds))
            if started is not None:
                started(proc)
            for line in proc.stdout:
                f.write(line)
                if on_progress is not None:
                    found = parse_progress(line)
                    if found:
                        on_progress(found)
            _, status, usage = os.wait4(proc.pid, 0)
            proc.returncode = code = os.waitstatus_to_exitcode(status)
            peak = max(peak, usage.ru_maxrss / 1024.0)
            if code != 0:
                break
    return code, time.time() - t0, peak


def run(cmd, logfile, tag, epochs=None):
    """Run ``cmd`` from the project root; full output to ``logfile``, one progress line
    per log interval. Returns ``(seconds, peak_rss_mb)``; exits with the log's tail on
    failure."""
    t0 = time.time()

    def show(p):
        where = f'epoch {p["epoch"]}/{epochs} ' if p['epoch'] is not None else ''
        log(f'  [{tag}] {where}iter {p["iter"]}/{p["iters"]}  loss {p["loss"]}  '
            f'eta {p["eta"]}  ({time.time() - t0:.0f} s)')

    code, secs, rss = run_logged([cmd], logfile, on_progress=show)
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


def write_text(path, text):
    """Write ``text`` to ``path`` atomically (a temporary file, then ``os.replace``)."""
    os.makedirs(osp.dirname(path) or '.', exist_ok=True)
    tmp = f'{path}.tmp-{os.getpid()}-{threading.get_ident()}'
    with open(tmp, 'w') as f:
        f.write(text)
    os.replace(tmp, path)


def write_json(path, obj):
    """Write ``obj`` as indented JSON to ``path`` atomically."""
    write_text(path, json.dumps(obj, indent=2) + '\n')
