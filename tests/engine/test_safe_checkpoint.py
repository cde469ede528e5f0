"""Crash-safe checkpoint rotation and auto-resume (kd_plugins.engine.safe_checkpoint),
in-process with a tiny MMEngine Runner; the real-process kill test is
test_kill_resume.py."""
import os
import os.path as osp

import pytest
import torch
from mmengine.model import BaseModel
from mmengine.runner import Runner
from torch import nn

import kd_plugins.engine.atomic_io as atomic_io
from kd_plugins.engine.safe_checkpoint import find_latest_checkpoint


@pytest.fixture(autouse=True)
def runner_scopes_stay_here():
    """A Runner makes its default scope the current one ('mmengine' here); drop the
    scopes made in a test so later tests build in the scope they had before."""
    from mmengine.registry import DefaultScope
    before = set(DefaultScope._instance_dict)
    yield
    for name in set(DefaultScope._instance_dict) - before:
        DefaultScope._instance_dict.pop(name)


class TinyModel(BaseModel):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(2, 1)

    def forward(self, inputs, targets=None, mode='tensor'):
        out = self.fc(inputs)  # default_collate stacked the batch
        if mode == 'loss':
            return dict(loss=((out.squeeze(1) - targets) ** 2).mean())
        return [dict(out=o) for o in out]


def make_runner(work_dir, max_iters=4, max_keep=1, resume=False, save_best=None,
                val_interval=None):
    data = [dict(inputs=torch.randn(2), targets=torch.randn(())) for _ in range(8)]
    loader = dict(dataset=data, sampler=dict(type='DefaultSampler', shuffle=False),
                  batch_size=2, collate_fn=dict(type='default_collate'))
    extra = {}
    if val_interval:
        from mmengine.evaluator import BaseMetric

        class Rising(BaseMetric):
            """Rises with each evaluation: each one is a new best."""
            calls = 0

            def process(self, data_batch, data_samples):
                self.results.append(1)

            def compute_metrics(self, results):
                Rising.calls += 1
                return dict(score=float(Rising.calls))

        from mmengine.evaluator import Evaluator
        extra = dict(val_dataloader=loader, val_cfg=dict(),
                     val_evaluator=Evaluator(Rising()))
    return Runner(
        model=TinyModel(), work_dir=str(work_dir), train_dataloader=loader,
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01, momentum=0.9)),
        train_cfg=dict(by_epoch=False, max_iters=max_iters,
                       val_interval=val_interval or max_iters + 1),
        default_hooks=dict(checkpoint=dict(
            type='CheckpointHook', by_epoch=False, interval=1, max_keep_ckpts=max_keep,
            save_best=save_best, rule='greater' if save_best else None)),
        resume=resume, default_scope='mmengine', **extra)


def ckpt(path, step=0):
    torch.save(dict(meta=dict(iter=step), state_dict={'w': torch.ones(1)}), str(path))
    return str(path)


def names(folder):
    return sorted(os.listdir(folder))


# find_latest_checkpoint ------------------------------------------------------------
def write_last(folder, target):
    (folder / 'last_checkpoint').write_text(str(target))


def test_last_checkpoint_named_and_complete_wins(tmp_path):
    ckpt(tmp_path / 'iter_3.pth')
    write_last(tmp_path, ckpt(tmp_path / 'iter_4.pth'))
    assert find_latest_checkpoint(str(tmp_path)) == str(tmp_path / 'iter_4.pth')


def test_newer_complete_checkpoint_than_the_named_one_wins(tmp_path):
    write_last(tmp_path, ckpt(tmp_path / 'iter_4.pth'))
    ckpt(tmp_path / 'iter_5.pth')  # written; killed before last_checkpoint was updated
    assert find_latest_checkpoint(str(tmp_path)) == str(tmp_path / 'iter_5.pth')


def test_named_file_missing_falls_back_to_newest_complete(tmp_path):
    ckpt(tmp_path / 'iter_3.pth')
    ckpt(tmp_path / 'iter_4.pth')
    write_last(tmp_path, tmp_path / 'iter_6.pth')  # deleted
    assert find_latest_checkpoint(str(tmp_path)) == str(tmp_path / 'iter_4.pth')


def test_truncated_checkpoints_are_skipped(tmp_path):
    ckpt(tmp_path / 'iter_4.pth')
    good = ckpt(tmp_path / 'iter_5.pth')
    data = open(good, 'rb').read()
    open(good, 'wb').write(data[:len(data) // 2])  # e.g. copied by hand, cut short
    write_last(tmp_path, good)
    assert find_latest_checkpoint(str(tmp_path)) == str(tmp_path / 'iter_4.pth')


def test_no_last_checkpoint_file_uses_the_folder(tmp_path):
    ckpt(tmp_path / 'epoch_2.pth')
    ckpt(tmp_path / 'epoch_10.pth')
    assert find_latest_checkpoint(str(tmp_path)) == str(tmp_path / 'epoch_10.pth')
    assert find_latest_checkpoint(str(tmp_path / 'nothing_here')) is None


def test_custom_names_are_trusted_when_they_exist(tmp_path):
    write_last(tmp_path, ckpt(tmp_path / 'my_model.pth'))
    assert find_latest_checkpoint(str(tmp_path)) == str(tmp_path / 'my_model.pth')


# the hook's order ------------------------------------------------------------------
def interrupt_write_of(monkeypatch, name, exc=KeyboardInterrupt):
    real = atomic_io._write_all

    def write_all(f, data, filepath):
        if osp.basename(filepath) == name:
            f.write(data[:len(data) // 2])
            raise exc('interrupted inside the write')
        real(f, data, filepath)

    monkeypatch.setattr(atomic_io, '_write_all', write_all)


def test_interrupted_save_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    """MMEngine removed iter_2.pth before writing iter_3.pth: Ctrl-C inside the write
    left no checkpoint at all."""
    interrupt_write_of(monkeypatch, 'iter_3.pth')
    runner = make_runner(tmp_path / 'w')
    with pytest.raises(KeyboardInterrupt):
        runner.train()
    work = str(tmp_path / 'w')
    assert [n for n in names(work) if n.endswith('.pth')] == ['iter_2.pth']
    assert not [n for n in names(work) if n.endswith('.tmp')]
    assert open(osp.join(work, 'last_checkpoint')).read() == osp.join(work, 'iter_2.pth')
    monkeypatch.undo()
    resumed = make_runner(tmp_path / 'w', resume=True)
    resumed.train()
    assert resumed.iter == 4
    assert [n for n in names(work) if n.endswith('.pth')] == ['iter_4.pth']


def test_interrupted_last_checkpoint_write_keeps_both(tmp_path, monkeypatch):
    """Killed while last_checkpoint is being written: it still names iter_2, which
    still exists; resume takes the newer complete iter_3."""
    state = dict(n=0)
    real = atomic_io._write_all

    def write_all(f, data, filepath):
        if osp.basename(filepath) == 'last_checkpoint':
            state['n'] += 1
            if state['n'] == 3:
                raise KeyboardInterrupt
        real(f, data, filepath)

    monkeypatch.setattr(atomic_io, '_write_all', write_all)
    with pytest.raises(KeyboardInterrupt):
        make_runner(tmp_path / 'w').train()
    work = str(tmp_path / 'w')
    assert [n for n in names(work) if n.endswith('.pth')] == ['iter_2.pth', 'iter_3.pth']
    assert open(osp.join(work, 'last_checkpoint')).read() == osp.join(work, 'iter_2.pth')
    assert find_latest_checkpoint(work) == osp.join(work, 'iter_3.pth')
    monkeypatch.undo()
    resumed = make_runner(tmp_path / 'w', resume=True, max_iters=5)
    resumed.train()
    # resumed from 3; the checkpoint the interrupted save did not remove is cleared
    assert [n for n in names(work) if n.endswith('.pth')] == ['iter_5.pth']


def test_start_clears_stale_temporary_files_and_orphans(tmp_path):
    make_runner(tmp_path / 'w', max_iters=2).train()
    work = tmp_path / 'w'
    (work / '.iter_3.pth.ab12cd34.tmp').write_bytes(b'PK half')
    (work / '.last_checkpoint.x1y2z3w4.tmp').write_text('half')
    (work / 'notes.tmp').write_text('mine')  # not ours: kept
    ckpt(work / 'iter_1.pth')                # older than the kept one: left by a kill
    resumed = make_runner(work, resume=True, max_iters=3)
    resumed.train()
    assert names(work) == sorted(['iter_3.pth', 'last_checkpoint', 'notes.tmp'] + [
        n for n in names(work) if n[0].isdigit()])  # + the log folder


def test_previous_best_is_removed_only_after_the_new_best_is_written(
        tmp_path, monkeypatch):
    interrupt_write_of(monkeypatch, 'best_score_iter_2.pth', exc=OSError)
    runner = make_runner(tmp_path / 'w', max_iters=3, save_best='score', val_interval=1)
    with pytest.raises(OSError):
        runner.train()
    work = str(tmp_path / 'w')
    assert 'best_score_iter_1.pth' in names(work)  # MMEngine deleted it first
