"""Checkpoints and other local writes through mmengine.fileio are atomic."""
import os

import pytest
import torch
from mmengine.fileio import get_file_backend
from mmengine.runner.checkpoint import save_checkpoint

import kd_plugins.engine.atomic_io as atomic_io


def test_failed_write_keeps_previous_file(tmp_path, monkeypatch):
    path = tmp_path / 'epoch_1.pth'
    save_checkpoint({'state_dict': {'w': torch.ones(2)}}, str(path))
    before = path.read_bytes()

    def broken_fsync(fd):
        raise OSError('disk full')

    monkeypatch.setattr(atomic_io.os, 'fsync', broken_fsync)
    with pytest.raises(OSError, match='disk full'):
        save_checkpoint({'state_dict': {'w': torch.zeros(2)}}, str(path))
    assert path.read_bytes() == before  # the old checkpoint is intact
    assert sorted(os.listdir(tmp_path)) == ['epoch_1.pth']  # no temporary left behind
    ckpt = torch.load(str(path), weights_only=True)
    assert torch.equal(ckpt['state_dict']['w'], torch.ones(2))


def test_text_put_is_atomic_and_readable(tmp_path):
    backend = get_file_backend(str(tmp_path))
    target = tmp_path / 'sub' / 'last_checkpoint'
    backend.put_text('epoch_3.pth', str(target))
    assert target.read_text() == 'epoch_3.pth'
    mode = os.stat(target).st_mode & 0o777
    assert mode & 0o044, oct(mode)  # not left at mkstemp's 0600
