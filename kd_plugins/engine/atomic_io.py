"""Atomic local file writes for MMEngine's file backend.

MMEngine writes checkpoints with ``LocalBackend.put`` straight into the final file: a
crash or a full disk mid-write leaves a truncated ``epoch_N.pth`` that ``--resume auto``
then picks up. Here ``put``/``put_text`` write a temporary file in the same folder, flush
and fsync it, then ``os.replace`` it into place, so a checkpoint file is either the old
one, absent, or complete.
"""
import os
import os.path as osp
import tempfile

from mmengine.fileio.backends.local_backend import LocalBackend


def atomic_write(filepath, data, mode='wb', encoding=None):
    filepath = str(filepath)
    folder = osp.dirname(osp.abspath(filepath))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix='.' + osp.basename(filepath) + '.',
                               suffix='.tmp', dir=folder)
    try:
        with os.fdopen(fd, mode, encoding=encoding) as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; keep the usual mode
        os.replace(tmp, filepath)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise


def _put(self, obj, filepath):
    atomic_write(filepath, obj, 'wb')


def _put_text(self, obj, filepath, encoding='utf-8'):
    atomic_write(filepath, obj, 'w', encoding=encoding)


def install():
    if getattr(LocalBackend.put, '_kd_atomic', False):
        return
    _put._kd_atomic = True
    LocalBackend.put = _put
    LocalBackend.put_text = _put_text
