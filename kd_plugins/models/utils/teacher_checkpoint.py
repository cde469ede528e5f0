"""Teachers load exactly or not at all.

MMEngine's ``load_checkpoint`` (what MMRazor's algorithms call for ``teacher_ckpt``)
loads with ``strict=False`` and reports a mismatch as one "do not match exactly" log
line: a checkpoint of another model, or a whole distillation checkpoint given as the
teacher, leaves the teacher randomly initialised and the student distils from noise.
:func:`load_teacher_checkpoint` compares the file's keys and shapes with the teacher
before anything is used and fails at build time, naming the file, the counts of missing,
unexpected and mis-shaped keys with a few examples each, and, when the file is a
distillation checkpoint (keys under ``architecture.`` / ``teacher.``), the export tool
that makes a plain model checkpoint of it. ``strict=False`` (the algorithms'
``teacher_strict=False``) is the explicit opt-in to partial loading: what fits is
loaded and the counts are logged as a warning.

:func:`install` makes MMRazor's own ``SingleTeacherDistill``, ``DataFreeDistillation``
and ``DAFLDataFreeDistillation`` load their teachers the same way (strictly).
"""
import logging
import os.path as osp
import re
from typing import Dict, List

import torch
from mmengine.logging import print_log
from torch import nn

from .config_checks import DistillConfigError, check_teacher_ckpt

# a model trained under DDP and saved without unwrapping
REVISE_KEYS = ((r'^module\.', ''), )
DISTILL_PREFIXES = ('architecture.', 'teacher.', 'distiller.')
EXPORT_HINT = ('It looks like a distillation checkpoint ({found}); a teacher needs the '
               'plain model: export it with `python tools/export_student.py CKPT '
               '--config DISTILL_CFG --out DIR [--part teacher]` and pass '
               'DIR/student.pth (or DIR/teacher.pth)')
N_EXAMPLES = 3


class TeacherCheckpointError(DistillConfigError):
    """A teacher checkpoint whose keys or shapes do not fit the teacher model."""


def checkpoint_state_dict(checkpoint) -> Dict[str, torch.Tensor]:
    """The weights of a loaded checkpoint: its ``state_dict`` (or ``model``) entry, or
    the dict itself for a bare state dict; DDP's ``module.`` prefix removed."""
    state = checkpoint
    if isinstance(checkpoint, dict):
        for key in ('state_dict', 'model'):
            if isinstance(checkpoint.get(key), dict):
                state = checkpoint[key]
                break
    if not isinstance(state, dict):
        raise TypeError(f'a checkpoint holds a dict of weights, got {type(state)}')
    out = {}
    for key, value in state.items():
        for pattern, repl in REVISE_KEYS:
            key = re.sub(pattern, repl, key)
        out[key] = value
    return out


def compare_state_dict(model: nn.Module, state: Dict[str, torch.Tensor]) -> dict:
    """``missing`` / ``unexpected`` / ``mismatched`` keys of ``state`` for ``model``
    (``mismatched``: ``(key, file shape, model shape)``)."""
    own = model.state_dict()
    mismatched = [(k, tuple(v.shape), tuple(own[k].shape)) for k, v in state.items()
                  if k in own and torch.is_tensor(v) and v.shape != own[k].shape]
    return dict(missing=[k for k in own if k not in state],
                unexpected=[k for k in state if k not in own],
                mismatched=mismatched)


def distill_checkpoint_prefixes(keys: List[str]) -> Dict[str, int]:
    """How many keys sit under each prefix of a distillation algorithm's state dict."""
    counts = {p: sum(k.startswith(p) for k in keys) for p in DISTILL_PREFIXES}
    return {p: n for p, n in counts.items() if n}


def mismatch_report(diff: dict, n_model: int, n_file: int) -> str:
    """One paragraph: counts and the first examples of each kind of mismatch."""
    def examples(items):
        shown = ', '.join(str(i) for i in items[:N_EXAMPLES])
        return f' (e.g. {shown}{", ..." if len(items) > N_EXAMPLES else ""})'

    parts = [f'{len(diff["missing"])} of the model\'s {n_model} keys missing from the '
             f'file' + (examples(diff['missing']) if diff['missing'] else ''),
             f'{len(diff["unexpected"])} of the file\'s {n_file} keys unexpected'
             + (examples(diff['unexpected']) if diff['unexpected'] else ''),
             f'{len(diff["mismatched"])} with another shape'
             + (examples([f'{k}: file {f} vs model {m}'
                          for k, f, m in diff['mismatched']])
                if diff['mismatched'] else '')]
    return '; '.join(parts)


def load_teacher_checkpoint(model: nn.Module, filename: str,
                            field: str = 'teacher_ckpt', strict: bool = True,
                            strict_field: str = 'teacher_strict') -> dict:
    """Load ``filename`` into the teacher ``model``: exactly, or fail naming the file.

    Args:
        model: the teacher.
        filename: a local checkpoint (``state_dict`` + ``meta``, a Runner checkpoint or
            a bare state dict).
        field: the config field that gave the file (named in errors).
        strict: False loads what fits and logs the counts instead of failing.
        strict_field: the config field that sets ``strict`` (named in the error;
            None: the algorithm has no such switch).

    Returns:
        ``dict(missing=[...], unexpected=[...], mismatched=[...])``, empty lists when
        the file fits exactly.
    """
    from mmengine.runner.checkpoint import CheckpointLoader
    checkpoint = CheckpointLoader.load_checkpoint(filename, map_location='cpu')
    try:
        state = checkpoint_state_dict(checkpoint)
    except TypeError as err:
        raise TeacherCheckpointError(f'{field}: {filename!r} is not a model checkpoint: '
                                     f'{err}') from None
    diff = compare_state_dict(model, state)
    n_model = len(model.state_dict())
    if any(diff.values()):
        report = mismatch_report(diff, n_model, len(state))
        found = distill_checkpoint_prefixes(diff['unexpected'])
        if strict:
            hint = ''
            if found:
                hint = '. ' + EXPORT_HINT.format(found=', '.join(
                    f'{n} keys under {p!r}' for p, n in found.items()))
            opt_in = (f', or set {strict_field}=False to load only the keys that fit'
                      if strict_field else '')
            raise TeacherCheckpointError(
                f'{field}: checkpoint {filename!r} does not fit the teacher '
                f'{type(model).__name__}: {report}{hint}. Pass the checkpoint of this '
                f'teacher model{opt_in}')
        print_log(f'{field}: {strict_field}=False: loading {osp.basename(filename)} '
                  f'partially into the teacher {type(model).__name__}: {report}',
                  logger='current', level=logging.WARNING)
    bad = {k for k, _, _ in diff['mismatched']}
    model.load_state_dict({k: v for k, v in state.items() if k not in bad},
                          strict=not any(diff.values()))
    model._is_init = True  # the Runner's init_weights must not reset it
    return diff


def _mmrazor_strict_load(model, filename, map_location=None, strict=False,
                         logger=None, revise_keys=None):
    """Stand-in for ``load_checkpoint`` inside MMRazor's distillation algorithms
    (they only ever load teachers with it): strict, whatever they pass. ``None`` (a
    config that declares ``ckpt_path=None`` for the user to set) keeps the teacher's
    initial weights, with a warning."""
    if filename is None:
        print_log(f'no checkpoint given for the teacher {type(model).__name__}: it keeps '
                  'its initial weights (fine for tests, not for real training)',
                  logger='current', level=logging.WARNING)
        return
    check_teacher_ckpt(filename, 'teacher checkpoint')
    load_teacher_checkpoint(model, filename, field='teacher checkpoint',
                            strict_field=None)


def install():
    """MMRazor's single-teacher and data-free algorithms load teachers strictly."""
    from mmrazor.models.algorithms.distill.configurable import \
        datafree_distillation as dfd
    from mmrazor.models.algorithms.distill.configurable import \
        single_teacher_distill as std
    for module in (std, dfd):
        module.load_checkpoint = _mmrazor_strict_load


__all__ = ['TeacherCheckpointError', 'checkpoint_state_dict', 'compare_state_dict',
           'install', 'load_teacher_checkpoint']
