"""Build-time checks of a distillation config, so bad input fails before iteration 1.

Each check raises an error that names the config field and says what was expected.
"""
import difflib
import math
import numbers
import os.path as osp
import re
from typing import Dict, Optional

from torch import nn

URL_RE = re.compile(r'^[a-zA-Z][a-zA-Z0-9+.-]*://')
MODULE_OUTPUT_RECORDER_TYPES = ('ModuleOutputs', 'ModuleOutputsRecorder')
MODULE_RECORDER_TYPES = MODULE_OUTPUT_RECORDER_TYPES + ('ModuleInputs',
                                                       'ModuleInputsRecorder')

# the loss arguments that carry the student / teacher feature pair; other mapped inputs
# (e.g. a teacher confidence map) have their own shapes
FEATURE_PAIR_ARGS = ('preds_S', 'preds_T')


class DistillConfigError(ValueError):
    """A distillation config that cannot work; the message names the field."""


def check_number(value, field: str, minimum: float = 0.0, strict: bool = False,
                 error=ValueError) -> float:
    """``value`` as a float: a finite real number (not a bool) ``>= minimum`` (``>``
    when ``strict``); otherwise ``error`` naming ``field``."""
    ok = (not isinstance(value, bool) and isinstance(value, numbers.Real)
          and math.isfinite(value)
          and (value > minimum if strict else value >= minimum))
    if not ok:
        raise error(f'{field} must be a finite number {">" if strict else ">="} '
                    f'{minimum:g}, got {value!r}')
    return float(value)


def check_bool(value, field: str, error=ValueError) -> bool:
    """``value`` if it is ``True`` or ``False``; otherwise ``error`` naming ``field``."""
    if not isinstance(value, bool):
        raise error(f'{field} must be True or False, got {value!r}')
    return value


def is_int(value) -> bool:
    """A plain integer (``True`` / ``False`` are not)."""
    return isinstance(value, int) and not isinstance(value, bool)


def check_int(value, field: str, minimum: int = 0, error=ValueError, unit: str = '') -> int:
    """``value`` if it is an integer ``>= minimum``; otherwise ``error`` naming
    ``field`` (``unit`` follows the bound in the message, e.g. ``' (pixels)'``)."""
    if not is_int(value) or value < minimum:
        raise error(f'{field} must be an integer >= {minimum}{unit}, got {value!r}')
    return value


def check_positive_int(value, field: str, error=ValueError) -> int:
    """``value`` if it is an integer > 0; otherwise ``error`` naming ``field``."""
    if not is_int(value) or value <= 0:
        raise error(f'{field} must be a positive int, got {value!r}')
    return value


def check_teacher_ckpt(teacher_ckpt: Optional[str], field: str = 'teacher_ckpt'):
    """A teacher checkpoint must be an existing local file (nothing downloads)."""
    if teacher_ckpt is None:
        return
    if not isinstance(teacher_ckpt, str) or not teacher_ckpt:
        raise DistillConfigError(
            f'{field} must be a path to a local checkpoint file, got {teacher_ckpt!r}')
    if URL_RE.match(teacher_ckpt):
        raise DistillConfigError(
            f'{field}={teacher_ckpt!r} is a URL; kd_plugins never downloads weights at '
            'run time. Download it yourself and pass the local path, e.g. '
            '--cfg-options model.teacher_ckpt=/path/to/teacher.pth')
    path = osp.expanduser(teacher_ckpt)
    if not osp.isfile(path):
        hint = ' (it is a directory)' if osp.isdir(path) else ''
        raise FileNotFoundError(
            f'{field}: teacher checkpoint {teacher_ckpt!r} does not exist{hint}. '
            'Train the teacher first or pass its path with '
            '--cfg-options model.teacher_ckpt=/path/to/teacher.pth')


def find_num_classes(model: nn.Module) -> Dict[str, int]:
    """``{module_name: num_classes}`` of the heads that declare it."""
    found = {}
    for name, module in model.named_modules():
        n = getattr(module, 'num_classes', None)
        if isinstance(n, int) and not isinstance(n, bool) and name:
            # keep the outermost declaration of each head
            if not any(name.startswith(k + '.') for k in found):
                found[name] = n
    return found


def check_num_classes(student: nn.Module, teacher: nn.Module):
    s, t = find_num_classes(student), find_num_classes(teacher)
    for name in sorted(set(s) & set(t)):
        if s[name] != t[name]:
            raise DistillConfigError(
                f'class-count mismatch: student {name}.num_classes={s[name]} but teacher '
                f'{name}.num_classes={t[name]}. Teacher and student must predict the same '
                'classes (set num_classes of both to the dataset\'s class count).')


def check_recorder_sources(recorders: Optional[dict], model: nn.Module, field: str):
    """Every module recorder's ``source`` must be a module of ``model``."""
    if not recorders:
        return
    names = [n for n, _ in model.named_modules() if n]
    name_set = set(names)
    for rec_name, cfg in recorders.items():
        if not isinstance(cfg, dict) or cfg.get('type') not in MODULE_RECORDER_TYPES:
            continue
        source = cfg.get('source')
        if source not in name_set:
            close = difflib.get_close_matches(str(source), names, n=5, cutoff=0.5)
            raise DistillConfigError(
                f'{field}.{rec_name}.source={source!r} is not a module of the '
                f'{field.split("_")[0]}. Closest names: {close or names[:5]}')


def check_distill_losses(distiller: dict, field: str = 'distiller'):
    """Every distillation loss has a ``type`` and a forward mapping, and every mapping
    names a loss: a loss without a mapping would never be computed, a mapping without
    a loss (or a loss without ``type``, e.g. a mistyped ``--cfg-options`` key) would
    fail inside MMRazor without naming it."""
    if not isinstance(distiller, dict):
        return
    losses = distiller.get('distill_losses') or {}
    mappings = distiller.get('loss_forward_mappings') or {}
    names = ', '.join(losses) or 'none'
    for name, cfg in losses.items():
        if not isinstance(cfg, dict) or not cfg.get('type'):
            raise DistillConfigError(
                f'{field}.distill_losses.{name} has no type (got {cfg!r}): each loss '
                f'needs type=<a registered loss>. The losses of this config are: '
                f'{names}')
        if name not in mappings:
            raise DistillConfigError(
                f'{field}.distill_losses.{name} has no entry in '
                f'{field}.loss_forward_mappings, so it would never be computed; add '
                f'{field}.loss_forward_mappings.{name}=dict(preds_S=..., preds_T=...)')
    for name in mappings:
        if name not in losses:
            close = difflib.get_close_matches(str(name), list(losses), n=3, cutoff=0.5)
            raise DistillConfigError(
                f'{field}.loss_forward_mappings.{name}: there is no loss {name!r} in '
                f'{field}.distill_losses (it has: {names}; closest: {close or "none"})')


def module_out_channels(module: nn.Module, data_idx: Optional[int] = None):
    """Channels a module outputs, where it declares them; None when unknown."""
    if hasattr(module, 'loss_by_feat'):
        return None  # a detection head: its out_channels are inner convs, not outputs
    out = getattr(module, 'out_channels', None)
    if data_idx is not None and isinstance(out, int) and \
            getattr(module, 'out_indices', None) is not None:
        return None  # a backbone's int out_channels is its last stage only
    if isinstance(out, (list, tuple)):
        if data_idx is not None and data_idx < len(out):
            out = out[data_idx]
        elif len(set(out)) == 1:
            out = out[0]
        else:
            return None
    if isinstance(out, int) and not isinstance(out, bool):
        return out
    if isinstance(module, nn.Sequential) and len(module):
        return module_out_channels(module[-1])
    return None


def connector_out_channels(connector: nn.Module):
    declared = getattr(connector, 'declared_out_channels', None)
    if isinstance(declared, int):
        return declared  # e.g. a connector ending in the teacher's head
    last = None
    for m in connector.modules():
        if isinstance(getattr(m, 'out_channels', None), int):
            last = m.out_channels
    return last


def check_feature_channels(distiller, student: nn.Module, teacher: nn.Module,
                           loss_forward_mappings: dict, recorder_cfgs: dict):
    """Student and teacher features fed to one loss must have equal channels.

    Only checks what the modules declare (``out_channels``); a connector on the student
    (or teacher) side counts with its output channels. Losses that accept different
    channels on purpose set ``accepts_channel_mismatch = True``.
    """
    modules = {'student': dict(student.named_modules()),
               'teacher': dict(teacher.named_modules())}
    for loss_name, mapping in (loss_forward_mappings or {}).items():
        loss = distiller.distill_losses[loss_name] if loss_name in \
            distiller.distill_losses else None
        if getattr(loss, 'accepts_channel_mismatch', False):
            continue
        chans = {'student': {}, 'teacher': {}}
        for arg, info in mapping.items():
            if arg not in FEATURE_PAIR_ARGS or not isinstance(info, dict) \
                    or 'recorder' not in info:
                continue
            side = 'student' if info.get('from_student', True) else 'teacher'
            rec = recorder_cfgs[side].get(info['recorder'], {})
            if rec.get('type') not in MODULE_OUTPUT_RECORDER_TYPES:
                continue  # only module outputs have declared channels
            module = modules[side].get(rec.get('source'))
            if module is None:
                continue
            raw = module_out_channels(module, info.get('data_idx'))
            c = raw
            conn = info.get('connector')
            if conn and conn in distiller.connectors:
                c = connector_out_channels(distiller.connectors[conn]) or c
                # a connector's input must match what it is fed
                in_c = None
                for m in distiller.connectors[conn].modules():
                    if isinstance(getattr(m, 'in_channels', None), int):
                        in_c = m.in_channels
                        break
                if in_c is not None and raw is not None and in_c != raw:
                    raise DistillConfigError(
                        f'distiller.connectors.{conn}: takes {in_c} input channels but '
                        f'{side} recorder {info["recorder"]!r} ({rec.get("source")}) '
                        f'gives {raw}')
            if c is not None:
                chans[side][arg] = (c, info['recorder'], conn)
        if chans['student'] and chans['teacher']:
            s_c = {v[0] for v in chans['student'].values()}
            t_c = {v[0] for v in chans['teacher'].values()}
            if s_c != t_c:
                detail = ', '.join(
                    f'{side} {arg}={v[0]} (recorder {v[1]!r}'
                    f'{", connector " + repr(v[2]) if v[2] else ""})'
                    for side in ('student', 'teacher') for arg, v in chans[side].items())
                raise DistillConfigError(
                    f'distiller.loss_forward_mappings.{loss_name}: channel mismatch '
                    f'between student and teacher features: {detail}. Add a connector '
                    '(e.g. ConvModuleConnector with in_channel=<student>, '
                    'out_channel=<teacher>) to the student side.')



def num_levels(module: nn.Module) -> Optional[int]:
    """How many feature levels a backbone or neck outputs, where it says so."""
    for attr in ('num_outs', 'num_scales'):
        n = getattr(module, attr, None)
        if isinstance(n, int) and not isinstance(n, bool):
            return n
    for attr in ('out_indices', 'out_channels'):
        v = getattr(module, attr, None)
        if isinstance(v, (list, tuple)):
            return len(v)
    return None


def check_level_counts(student: nn.Module, teacher: nn.Module, recorder_cfgs: dict):
    """A multi-level output recorded on both sides must have as many levels on each.

    ``recorder_cfgs`` is ``dict(student=..., teacher=...)`` of the distiller's recorder
    configs; only recorders of the same name and source on both sides are compared.
    """
    s_mods, t_mods = dict(student.named_modules()), dict(teacher.named_modules())
    for name, s_cfg in recorder_cfgs['student'].items():
        t_cfg = recorder_cfgs['teacher'].get(name)
        if not isinstance(s_cfg, dict) or not isinstance(t_cfg, dict):
            continue
        if s_cfg.get('type') not in MODULE_OUTPUT_RECORDER_TYPES or \
                s_cfg.get('source') != t_cfg.get('source'):
            continue
        source = s_cfg.get('source')
        s_mod, t_mod = s_mods.get(source), t_mods.get(source)
        if s_mod is None or t_mod is None:
            continue
        s_n, t_n = num_levels(s_mod), num_levels(t_mod)
        if s_n is not None and t_n is not None and s_n != t_n:
            raise DistillConfigError(
                f'{source}: level count differs between student ({s_n} levels) and '
                f'teacher ({t_n} levels), recorded by distiller.student_recorders.{name} '
                f'and distiller.teacher_recorders.{name}. Level-wise distillation needs '
                f'the same levels: set the student\'s {source} to output {t_n} levels '
                '(e.g. out_indices / num_outs) or record matching modules.')
