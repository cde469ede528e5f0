"""Running training / test jobs as subprocesses with a progress line (demo, benchmarks).

Stdlib only, so the tools that use it start fast and need nothing installed to import.
"""
import os
import re
import subprocess
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROGRESS = re.compile(r'Epoch\(train\)\s*\[(\d+)\]\s*\[\s*(\d+)/(\d+)\].*?eta: (\S+)'
                      r'.*?\sloss: ([0-9.]+)')
ITER_PROGRESS = re.compile(r'Iter\(train\)\s*\[\s*(\d+)/(\d+)\].*?eta: (\S+)'
                           r'.*?\sloss: ([0-9.]+)')
METRIC = re.compile(r'coco/bbox_mAP: ([0-9.-]+)\s+coco/bbox_mAP_50: ([0-9.-]+)')


def log(msg):
    print(msg, flush=True)


def run(cmd, logfile, tag, epochs=None):
    """Run ``cmd`` from the project root; full output to ``logfile``, one progress line
    per log interval. Returns ``(seconds, peak_rss_mb)``; exits with the log's tail on
    failure."""
    t0 = time.time()
    with open(logfile, 'w') as f:
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, bufsize=1,
                                env=dict(os.environ, PYTHONUNBUFFERED='1',
                                         PYTHONWARNINGS='ignore'))
        for line in proc.stdout:
            f.write(line)
            m = PROGRESS.search(line)
            if m:
                ep, it, n, eta, loss = m.groups()
                log(f'  [{tag}] epoch {ep}/{epochs} iter {it}/{n}  loss {loss}  '
                    f'eta {eta}  ({time.time() - t0:.0f} s)')
            elif m := ITER_PROGRESS.search(line):
                it, n, eta, loss = m.groups()
                log(f'  [{tag}] iter {it}/{n}  loss {loss}  eta {eta}  '
                    f'({time.time() - t0:.0f} s)')
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        with open(logfile) as f:
            tail = ''.join(f.readlines()[-30:])
        raise SystemExit(f'{tag} failed (exit {proc.returncode}); last lines of '
                         f'{logfile}:\n{tail}')
    return time.time() - t0, usage.ru_maxrss / 1024.0


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
