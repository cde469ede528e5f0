"""Atomic local file writes for MMEngine's file backend.

MMEngine writes checkpoints with ``LocalBackend.put`` straight into the final file: a
crash or a full disk mid-write leaves a truncated ``epoch_N.pth`` that ``--resume auto``
then picks up. Here ``put``/``put_text`` write a temporary file in the same folder
(``.<name>.<random>.tmp``), flush and fsync it, then ``os.replace`` it into place, so a
checkpoint file is either the old one, absent, or complete. A process killed with
SIGKILL inside the write leaves its temporary file behind: :func:`remove_stale_temps`
clears those (the checkpoint hook calls it when training starts).
"""
import os
import os.path as osp
import re
import tempfile

from mmengine.fileio.backends.local_backend import LocalBackend

TMP_PREFIX, TMP_SUFFIX = '.', '.tmp'
# what tempfile.mkstemp puts between prefix and suffix
_TMP_RE = re.compile(r'^\.(?P<name>.+)\.[a-z0-9_]{8}\.tmp$')


def temp_target(filename: str):
    """The file a temporary file of :func:`atomic_write` was to become, or None."""
    m = _TMP_RE.match(filename)
    return m.group('name') if m else None


def _write_all(f, data, filepath):
    """Write ``data`` to the open temporary file for ``filepath`` (a seam for the
    fault-injection tests, which pause inside it)."""
    f.write(data)


def atomic_write(filepath, data, mode='wb', encoding=None):
    filepath = str(filepath)
    folder = osp.dirname(osp.abspath(filepath))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=TMP_PREFIX + osp.basename(filepath) + '.',
                               suffix=TMP_SUFFIX, dir=folder)
    try:
        with os.fdopen(fd, mode, encoding=encoding) as f:
            _write_all(f, data, filepath)
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


def remove_stale_temps(folder: str, targets=lambda name: True) -> list:
    """Delete the temporary files a killed :func:`atomic_write` left in ``folder``
    for the target file names ``targets`` accepts; returns their paths."""
    removed = []
    if not osp.isdir(folder):
        return removed
    for name in sorted(os.listdir(folder)):
        target = temp_target(name)
        path = osp.join(folder, name)
        if target is not None and targets(target) and osp.isfile(path):
            os.remove(path)
            removed.append(path)
    return removed


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
