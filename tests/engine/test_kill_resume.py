"""A real training run killed at many points in and around checkpoint saves resumes.

One distillation run (MMRazor KD on the toy classification pair, through tools/train.py,
a checkpoint every iteration, ``max_keep_ckpts=1`` as the toy configs have) is killed
again and again, each time at another point: in an iteration, before a save, inside
the checkpoint's write, before / after its rename, inside / after the write of
``last_checkpoint``, after the old checkpoint's removal; with SIGKILL (also what the OOM
killer sends) and SIGINT (Ctrl-C). Each kill is followed by ``--resume``, which must
continue from the newest complete checkpoint with its optimizer state, learning rate,
scheduler step and iteration. Between kills the folder must hold what a user can resume
from: ``last_checkpoint`` names a complete file, and no stale temporary files remain once
training restarted. The last resume runs to the end.

``tests/engine/fault_train.py`` runs tools/train.py with the fault points and pauses at
the chosen one, so each kill lands exactly there.
"""
import glob
import json
import os
import os.path as osp
import signal
import subprocess
import sys
import time

import pytest
import torch

from conftest import ROOT, cli_options, cls_data_options, subprocess_env

from kd_plugins.engine.safe_checkpoint import is_complete_checkpoint

FAULT_TRAIN = osp.join(ROOT, 'tests', 'engine', 'fault_train.py')
KD_CFG = osp.join(ROOT, 'configs', 'mmrazor_kd', 'kd_logits_wrn-16-2_resnet8_toy-cls.py')
MAX_ITERS = 30
# (fault point, its occurrence in the killed process, signal). Save points use the
# second save of a process, so every process completes one save first (progress).
KILL_POINTS = [
    ('iter:3', signal.SIGKILL),
    ('save_begin:2', signal.SIGKILL),
    ('write_mid_ckpt:2', signal.SIGKILL),
    ('before_rename_ckpt:2', signal.SIGKILL),
    ('after_rename_ckpt:2', signal.SIGKILL),
    ('write_mid_last:2', signal.SIGKILL),
    ('before_rename_last:2', signal.SIGKILL),
    ('after_rename_last:2', signal.SIGKILL),
    ('removed_ckpt:1', signal.SIGKILL),
    ('write_mid_ckpt:2', signal.SIGINT),
    ('before_rename_ckpt:2', signal.SIGINT),
    ('after_rename_ckpt:2', signal.SIGINT),
    ('write_mid_last:2', signal.SIGINT),
]
TIMEOUT_S = 600  # generous: a benchmark beside the suite slows each run ~3x


def write_config(tmp_path):
    """The toy KD config, iteration-based with a checkpoint every iteration."""
    cfg = tmp_path / 'kd_kill.py'
    cfg.write_text(f"""_base_ = [{KD_CFG!r}]
train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters={MAX_ITERS},
                 val_interval={MAX_ITERS})
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=10),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=10, end={MAX_ITERS},
         T_max={MAX_ITERS - 10}),
]
default_hooks = dict(
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=1, max_keep_ckpts=1),
    logger=dict(type='LoggerHook', interval=50))
log_processor = dict(by_epoch=False)
""")
    return str(cfg)


def log_tail(tmp_path):
    return open(tmp_path / 'train.log').read()[-3000:]


def read_events(path, pid):
    if not osp.exists(path):
        return []
    with open(path) as f:
        rows = [line.rstrip('\n').split(' ', 2) for line in f]
    return [(r[1], r[2] if len(r) > 2 else '') for r in rows if r[0] == str(pid)]


def ctrl_c_as_in_a_terminal():
    """The child's SIGINT back to the default (Python then raises KeyboardInterrupt, as
    for Ctrl-C in a terminal). A suite started in the background (``cmd &``, nohup)
    ignores SIGINT and its children inherit that: the SIGINT kill points would never
    stop the paused run and the test would wait out TIMEOUT_S."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start(cmd, events, pause_at, log):
    return subprocess.Popen(
        [sys.executable, FAULT_TRAIN, events, pause_at, '--'] + cmd, cwd=ROOT,
        env=subprocess_env(), stdout=log, stderr=subprocess.STDOUT,
        preexec_fn=ctrl_c_as_in_a_terminal)


def wait_for(proc, events, what):
    """Wait until ``proc`` logs event ``what`` (or exits); returns its events."""
    t0 = time.time()
    while time.time() - t0 < TIMEOUT_S:
        evs = read_events(events, proc.pid)
        if any(e == what for e, _ in evs):
            return evs
        if proc.poll() is not None:
            return read_events(events, proc.pid)
        time.sleep(0.05)
    proc.kill()
    raise AssertionError(f'no {what!r} event within {TIMEOUT_S} s')


def temp_files(work_dir):
    return sorted(osp.basename(p) for p in glob.glob(osp.join(work_dir, '.*.tmp')))


def ckpt_state(path):
    """What a resume must restore from ``path``."""
    from kd_plugins.compat import load_local_checkpoint
    ckpt = load_local_checkpoint(path)
    digest = sum(float(v.double().sum()) for s in ckpt['optimizer']['state'].values()
                 for v in s.values() if torch.is_tensor(v))
    return dict(iter=ckpt['meta']['iter'], opt_digest=digest,
                lr=[g['lr'] for g in ckpt['optimizer']['param_groups']],
                sched=[s['last_step'] for s in ckpt['param_schedulers']])


def check_resumable(work_dir, newest_complete):
    """What a kill must leave: last_checkpoint names a complete file; the newest
    complete checkpoint is still there."""
    last = osp.join(work_dir, 'last_checkpoint')
    if osp.exists(last):
        named = open(last).read().strip()
        assert is_complete_checkpoint(named), f'last_checkpoint names {named!r}'
    if newest_complete:
        path = osp.join(work_dir, f'iter_{newest_complete}.pth')
        assert is_complete_checkpoint(path), (path, sorted(os.listdir(work_dir)))


@pytest.mark.slow
def test_training_resumes_after_kills_in_and_around_saves(tmp_path, toy_cls_root):
    work_dir = str(tmp_path / 'work')
    events = str(tmp_path / 'events.txt')
    cmd = [write_config(tmp_path), '--work-dir', work_dir, '--resume'] + cli_options(
        cls_data_options(toy_cls_root, batch_size=8))
    newest_complete = 0  # the newest checkpoint whose rename into place happened
    outcomes = []
    with open(tmp_path / 'train.log', 'w') as log:
        for n, (pause_at, sig) in enumerate(KILL_POINTS + [('none', None)]):
            proc = start(cmd, events, pause_at, log)
            evs = wait_for(proc, events, 'resumed')
            resumed = [json.loads(d) for e, d in evs if e == 'resumed']
            assert resumed, log_tail(tmp_path)
            got = resumed[0]
            # continues from the newest complete checkpoint, with its optimizer state,
            # learning rate and scheduler steps
            assert got['iter'] == newest_complete, (pause_at, got, outcomes)
            if newest_complete:
                want = ckpt_state(osp.join(work_dir, f'iter_{newest_complete}.pth'))
                assert got['iter'] == want['iter']
                assert got['opt_digest'] == pytest.approx(want['opt_digest'], rel=1e-9)
                assert got['opt_digest'] != 0
                assert got['lr'] == pytest.approx(want['lr'])
                assert got['sched'] == want['sched']
            if sig is None:
                assert proc.wait(TIMEOUT_S) == 0, log_tail(tmp_path)
                evs = read_events(events, proc.pid)
                assert ('done', '') in evs
                break
            evs = wait_for(proc, events, 'PAUSED')
            assert evs[-1][0] == 'PAUSED', (pause_at, evs[-3:], log_tail(tmp_path))
            # the restart cleared what the previous kill left; only the write we are
            # paused in (or before its rename) may have its temporary file now
            allowed = 1 if pause_at.startswith(('write_mid', 'before_rename')) else 0
            assert len(temp_files(work_dir)) == allowed, (pause_at, temp_files(work_dir))
            completed = [int(d[len('iter_'):-len('.pth')]) for e, d in evs
                         if e == 'after_rename_ckpt']
            assert completed, 'no save completed before the fault point'
            newest_complete = max([newest_complete] + completed)
            proc.send_signal(sig)
            rc = proc.wait(TIMEOUT_S)
            assert rc != 0
            check_resumable(work_dir, newest_complete)
            outcomes.append((pause_at, sig.name, got['iter'], newest_complete,
                             temp_files(work_dir)))
    print('\nkill point | signal | resumed at | newest complete after the kill | temp '
          'files left by the kill')
    for row in outcomes:
        print('KILL', *row, sep=' | ')
    assert len(outcomes) == len(KILL_POINTS)
    # the end: the run finished; one checkpoint kept; nothing stale
    assert open(osp.join(work_dir, 'last_checkpoint')).read().strip() == \
        osp.join(work_dir, f'iter_{MAX_ITERS}.pth')
    assert sorted(osp.basename(p) for p in glob.glob(osp.join(work_dir, '*.pth'))) == \
        [f'iter_{MAX_ITERS}.pth']
    assert temp_files(work_dir) == []
    # SIGKILL inside a write leaves its temporary file until the next start; SIGINT
    # removes it on the way out
    assert all(tmp for p, sig, _, _, tmp in outcomes
               if sig == 'SIGKILL' and p.startswith(('write_mid', 'before_rename')))
    assert not any(tmp for p, sig, _, _, tmp in outcomes if sig == 'SIGINT')
