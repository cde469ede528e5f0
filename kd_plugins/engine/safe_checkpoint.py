"""Crash-safe checkpoint rotation and resume for MMEngine's ``CheckpointHook``.

With ``max_keep_ckpts=N`` (the toy configs keep one checkpoint) MMEngine 0.10.7 deletes
the oldest checkpoint *before* it writes the new one, and updates ``last_checkpoint``
last, with a plain ``open(..., 'w')``. A kill during a save then loses the only good
checkpoint, leaves ``last_checkpoint`` naming a deleted file, and ``--resume`` fails with
``FileNotFoundError``; a kill just after the new file is in place makes ``--resume``
ignore it. :func:`install` changes three things, for every config (a user's
``dict(type='CheckpointHook', ...)`` included):

1. order of a save: the new checkpoint is written (atomically, see
   :mod:`.atomic_io`), then ``last_checkpoint`` (atomically), and only then is the
   checkpoint that fell out of ``max_keep_ckpts`` removed. The same for the best
   checkpoint: the previous best is removed after the new best is written. At any
   instant the folder holds a complete checkpoint and ``last_checkpoint`` names a file
   that exists.
2. start of training: temporary files that a killed save left (``.epoch_3.pth.x1y2.tmp``,
   ``.last_checkpoint.x1y2.tmp``) are removed, and, after a resume, checkpoints older
   than the ones the resumed state keeps (left when a kill came between writing the new
   checkpoint and removing the old one) are removed as ``max_keep_ckpts`` says.
3. ``--resume`` without a path (:func:`find_latest_checkpoint`): the newest complete
   checkpoint wins: the file ``last_checkpoint`` names, or a newer ``epoch_N.pth`` /
   ``iter_N.pth`` beside it; when ``last_checkpoint`` is missing or names a file that is
   gone or incomplete, the newest complete checkpoint in the folder, with a warning.
"""
import logging
import os
import os.path as osp
import re
from typing import Optional

from mmengine.dist import is_main_process
from mmengine.hooks import CheckpointHook
from mmengine.logging import print_log

from ..compat import CheckpointFileError, check_checkpoint_file
from .atomic_io import atomic_write, remove_stale_temps

LAST_CHECKPOINT = 'last_checkpoint'
DEFAULT_CKPT_RE = re.compile(r'^(?P<kind>epoch|iter)_(?P<step>\d+)\.pth$')


def is_complete_checkpoint(path: str) -> bool:
    """A local file that passes the checkpoint loader's file check
    (:func:`kd_plugins.compat.check_checkpoint_file`): a whole zip archive or a legacy
    pickle; a zip cut short has no end-of-archive record."""
    if not osp.isfile(path):
        return False
    try:
        check_checkpoint_file(path)
    except CheckpointFileError:
        return False
    return True


def checkpoint_steps(folder: str, pattern=DEFAULT_CKPT_RE) -> list:
    """``[(kind, step, path)]`` of the files in ``folder`` named like checkpoints."""
    if not osp.isdir(folder):
        return []
    out = []
    for name in os.listdir(folder):
        m = pattern.match(name)
        if m:
            kind = m.groupdict().get('kind', '')
            out.append((kind, int(m.group('step')), osp.join(folder, name)))
    return out


def read_last_checkpoint(work_dir: str) -> Optional[str]:
    path = osp.join(work_dir, LAST_CHECKPOINT)
    if not osp.isfile(path):
        return None
    with open(path) as f:
        return f.read().strip() or None


def find_latest_checkpoint(path: str) -> Optional[str]:
    """The checkpoint ``--resume`` (auto) continues from: see the module docstring."""
    named = read_last_checkpoint(path)
    if named is not None and '://' in named:
        return named  # a remote backend: MMEngine's behaviour
    folders = [path] + ([osp.dirname(named)] if named else [])
    found = {}
    for folder in folders:
        for kind, step, ckpt in checkpoint_steps(folder):
            found[osp.abspath(ckpt)] = (kind, step, ckpt)
    if named is not None and is_complete_checkpoint(named):
        m = DEFAULT_CKPT_RE.match(osp.basename(named))
        if not m:
            return named
        newer = [(step, ckpt) for kind, step, ckpt in found.values()
                 if kind == m.group('kind') and step > int(m.group('step'))
                 and is_complete_checkpoint(ckpt)]
        if not newer:
            return named
        latest = max(newer)[1]
        print_log(f'{LAST_CHECKPOINT} names {named}, but the newer complete checkpoint '
                  f'{latest} exists (the run stopped before {LAST_CHECKPOINT} was '
                  'updated): resuming from it', logger='current', level=logging.WARNING)
        return latest
    complete = [(os.stat(ckpt).st_mtime, kind, step, ckpt)
                for kind, step, ckpt in found.values() if is_complete_checkpoint(ckpt)]
    if not complete:
        if named is not None:
            print_log(f'{LAST_CHECKPOINT} names {named}, which is missing or '
                      f'incomplete, and no complete checkpoint is in {path}: starting '
                      'from scratch', logger='current', level=logging.WARNING)
        return None
    newest_kind = max(complete)[1]  # epoch_ or iter_, whichever was written last
    latest = max((step, ckpt) for _, kind, step, ckpt in complete
                 if kind == newest_kind)[1]
    why = (f'{LAST_CHECKPOINT} names {named}, which is missing or incomplete'
           if named is not None else f'no {LAST_CHECKPOINT} in {path}')
    print_log(f'{why}: resuming from the newest complete checkpoint {latest}',
              logger='current', level=logging.WARNING)
    return latest


def _template_pattern(filename_tmpl: str):
    """A regex matching the names ``filename_tmpl.format(step)`` makes."""
    head, sep, tail = filename_tmpl.partition('{}')
    if not sep:
        return None
    return re.compile('^' + re.escape(head) + r'(?P<step>\d+)' + re.escape(tail) + '$')


def _is_local_dir(folder) -> bool:
    return isinstance(folder, str) and '://' not in folder and osp.isdir(folder)


def _remove(backend, path):
    if backend.isfile(path):
        backend.remove(path)
    elif backend.isdir(path):  # checkpoints saved by deepspeed are directories
        backend.rmtree(path)


# CheckpointHook methods -----------------------------------------------------------
def _save_checkpoint_with_step(self, runner, step, meta):
    """MMEngine's, reordered: save, then ``last_checkpoint``, then remove the old."""
    stale = []
    if self.max_keep_ckpts > 0 and not (self.keep_ckpt_ids
                                        and self.keep_ckpt_ids[-1] == step):
        if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
            stale.append(self.keep_ckpt_ids.popleft())
        self.keep_ckpt_ids.append(step)
        runner.message_hub.update_info('keep_ckpt_ids', list(self.keep_ckpt_ids))

    ckpt_filename = self.filename_tmpl.format(step)
    self.last_ckpt = self.file_backend.join_path(self.out_dir, ckpt_filename)
    runner.message_hub.update_info('last_ckpt', self.last_ckpt)
    runner.save_checkpoint(
        self.out_dir, ckpt_filename, self.file_client_args,
        save_optimizer=self.save_optimizer,
        save_param_scheduler=self.save_param_scheduler, meta=meta,
        by_epoch=self.by_epoch, backend_args=self.backend_args, **self.args)
    if not is_main_process():
        return
    atomic_write(osp.join(runner.work_dir, LAST_CHECKPOINT), self.last_ckpt, 'w')
    for old in stale:
        path = self.file_backend.join_path(self.out_dir, self.filename_tmpl.format(old))
        if path != self.last_ckpt:
            _remove(self.file_backend, path)


class _DeferredRemoval:
    """A file backend whose ``remove`` / ``rmtree`` wait for :meth:`flush`."""

    def __init__(self, backend):
        self._backend = backend
        self.pending = []

    def remove(self, path):
        self.pending.append(('remove', path))

    def rmtree(self, path):
        self.pending.append(('rmtree', path))

    def __getattr__(self, name):
        return getattr(self._backend, name)

    def flush(self, keep=()):
        for op, path in self.pending:
            if path not in keep:
                getattr(self._backend, op)(path)
        self.pending = []


def _current_best(hook) -> set:
    paths = {getattr(hook, 'best_ckpt_path', None), hook.last_ckpt}
    paths.update((getattr(hook, 'best_ckpt_path_dict', None) or {}).values())
    return {p for p in paths if p}


def _wrap_save_best(original):
    def _save_best_checkpoint(self, runner, metrics):
        """MMEngine's, with the previous best removed after the new best is saved."""
        real = self.file_backend
        deferred = _DeferredRemoval(real)
        self.file_backend = deferred
        try:
            original(self, runner, metrics)
        finally:
            self.file_backend = real
        deferred.flush(keep=_current_best(self))

    _save_best_checkpoint._kd_safe = True
    return _save_best_checkpoint


def _wrap_before_train(original):
    def before_train(self, runner):
        """MMEngine's, then clear what a killed save left behind."""
        original(self, runner)
        if not is_main_process():
            return
        ckpt_pattern = _template_pattern(self.filename_tmpl)
        for folder in {runner.work_dir, self.out_dir}:
            if not _is_local_dir(folder):
                continue
            removed = remove_stale_temps(
                folder, lambda name: name == LAST_CHECKPOINT or name.endswith('.pth'))
            if removed:
                print_log(f'removed {len(removed)} temporary file(s) of an interrupted '
                          f'checkpoint save: {[osp.basename(p) for p in removed]}',
                          logger='current', level=logging.WARNING)
        keep = list(getattr(self, 'keep_ckpt_ids', ()) or ())
        if self.max_keep_ckpts > 0 and keep and ckpt_pattern is not None \
                and _is_local_dir(self.out_dir):
            for _, step, path in checkpoint_steps(self.out_dir, ckpt_pattern):
                if step < max(keep) and step not in keep:
                    os.remove(path)
                    print_log(f'removed {path}: older than the {len(keep)} checkpoint(s) '
                              f'kept (max_keep_ckpts={self.max_keep_ckpts}); left by a '
                              'save interrupted before its cleanup',
                              logger='current', level=logging.WARNING)

    before_train._kd_safe = True
    return before_train


def install():
    """Patch MMEngine's CheckpointHook and auto-resume lookup (idempotent)."""
    if getattr(CheckpointHook.before_train, '_kd_safe', False):
        return
    CheckpointHook._save_checkpoint_with_step = _save_checkpoint_with_step
    CheckpointHook._save_best_checkpoint = _wrap_save_best(
        CheckpointHook._save_best_checkpoint)
    CheckpointHook.before_train = _wrap_before_train(CheckpointHook.before_train)
    import mmengine.runner
    import mmengine.runner._flexible_runner as flexible_runner
    import mmengine.runner.checkpoint as checkpoint
    import mmengine.runner.runner as runner
    for module in (mmengine.runner, checkpoint, runner, flexible_runner):
        module.find_latest_checkpoint = find_latest_checkpoint
