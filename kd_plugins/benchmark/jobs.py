"""Running training / test jobs as subprocesses with a progress line, and writing result
files atomically: what the benchmark engine (engine.py) and tools/demo.py run jobs with.

Stdlib only, so the tools that use it start fast: tools/_jobs.py loads it by file path
without importing ``kd_plugins`` (the whole OpenMMLab stack).
"""
import json
import os
import os.path as osp
import re
import shlex
import subprocess
import threading
import time


def project_root():
    """The checkout the jobs run in (configs/, tools/train.py): the folder holding the
    kd_plugins package; for an installed wheel, whose configs/ and tools/ sit in
    ``kd_plugins/.mim``, that folder."""
    package = osp.dirname(osp.dirname(osp.realpath(__file__)))
    parent, mim = osp.dirname(package), osp.join(package, '.mim')
    if not osp.isdir(osp.join(parent, 'tools')) and osp.isdir(osp.join(mim, 'tools')):
        return mim
    return parent


ROOT = project_root()
PROGRESS = re.compile(r'Epoch\(train\)\s*\[(\d+)\]\s*\[\s*(\d+)/(\d+)\].*?eta: (\S+)'
                      r'.*?\sloss: ([0-9.]+)')
ITER_PROGRESS = re.compile(r'Iter\(train\)\s*\[\s*(\d+)/(\d+)\].*?eta: (\S+)'
                           r'.*?\sloss: ([0-9.]+)')


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
