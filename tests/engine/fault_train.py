"""tools/train.py with fault points, for the kill-and-resume test (not a test itself).

    python tests/engine/fault_train.py EVENTS_FILE PAUSE_AT -- <tools/train.py args>

Every point of interest of a training run appends a line to EVENTS_FILE (flushed and
fsynced, so the test sees it before it kills us): ``iter``, ``save_begin``,
``write_mid_<kind> <name>`` (half of a file written to its temporary file),
``before_rename_<kind> <name>`` / ``after_rename_<kind> <name>``, ``removed_<kind>
<name>`` (kind ``ckpt`` for a .pth, ``last`` for last_checkpoint), ``resumed <json>``
(what the Runner restored: iteration, optimizer state digest, lr, scheduler steps) and
``done``. ``PAUSE_AT`` is ``EVENT:N`` (``N``-th occurrence of EVENT in this process,
e.g. ``write_mid_ckpt:2``) or ``none``: there the
process writes ``PAUSED`` and sleeps until the test kills it, so the kill lands exactly
inside that point (within a write, between a rename and the next step, ...).
"""
import json
import os
import os.path as osp
import sys
import time

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, osp.join(ROOT, 'tools'))
sys.path.insert(0, ROOT)

EVENTS, PAUSE_AT = sys.argv[1], sys.argv[2]
TRAIN_ARGS = sys.argv[sys.argv.index('--') + 1:]
COUNTS = {}


def file_kind(name):
    """``ckpt`` (a .pth), ``last`` (last_checkpoint) or ``other`` (logs, configs)."""
    if name.endswith('.pth'):
        return 'ckpt'
    return 'last' if name == 'last_checkpoint' else 'other'


def emit(event, detail=''):
    COUNTS[event] = COUNTS.get(event, 0) + 1
    with open(EVENTS, 'a') as f:
        f.write(f'{os.getpid()} {event} {detail}\n')
        f.flush()
        os.fsync(f.fileno())
    if PAUSE_AT == f'{event}:{COUNTS[event]}':
        with open(EVENTS, 'a') as f:
            f.write(f'{os.getpid()} PAUSED {event} {detail}\n')
            f.flush()
            os.fsync(f.fileno())
        while True:
            time.sleep(0.02)


def optimizer_digest(optimizer):
    """Sum of every optimizer state tensor (momentum buffers): equal iff restored."""
    import torch
    total = 0.0
    for state in optimizer.state_dict()['state'].values():
        for value in state.values():
            if torch.is_tensor(value):
                total += float(value.double().sum())
    return total


def install_fault_points():
    from mmengine.fileio.backends.local_backend import LocalBackend
    from mmengine.runner import IterBasedTrainLoop, Runner

    import kd_plugins.engine.atomic_io as atomic_io

    def write_all(f, data, filepath):
        half = len(data) // 2
        f.write(data[:half])
        f.flush()
        name = osp.basename(filepath)
        emit(f'write_mid_{file_kind(name)}', name)
        f.write(data[half:])

    atomic_io._write_all = write_all

    real_replace = os.replace

    def replace(src, dst, *args, **kwargs):
        name = osp.basename(str(dst))
        emit(f'before_rename_{file_kind(name)}', name)
        real_replace(src, dst, *args, **kwargs)
        emit(f'after_rename_{file_kind(name)}', name)

    os.replace = replace

    real_remove = LocalBackend.remove

    def remove(self, filepath):
        real_remove(self, filepath)
        name = osp.basename(str(filepath))
        emit(f'removed_{file_kind(name)}', name)

    LocalBackend.remove = remove

    real_save = Runner.save_checkpoint

    def save_checkpoint(self, out_dir, filename, *args, **kwargs):
        emit('save_begin', filename)
        return real_save(self, out_dir, filename, *args, **kwargs)

    Runner.save_checkpoint = save_checkpoint

    real_run_iter = IterBasedTrainLoop.run_iter

    def run_iter(self, data_batch):
        emit('iter', str(self._iter))
        return real_run_iter(self, data_batch)

    IterBasedTrainLoop.run_iter = run_iter

    real_load_or_resume = Runner.load_or_resume

    def load_or_resume(self):
        real_load_or_resume(self)
        opt = self.optim_wrapper.optimizer
        emit('resumed', json.dumps(dict(
            iter=self.iter, opt_digest=optimizer_digest(opt),
            lr=[g['lr'] for g in opt.param_groups],
            sched=[s.last_step for s in self.param_schedulers])))

    Runner.load_or_resume = load_or_resume


def main():
    from _common import ensure_importable
    ensure_importable()
    install_fault_points()
    import train
    train.main(TRAIN_ARGS)
    emit('done')


if __name__ == '__main__':
    main()
