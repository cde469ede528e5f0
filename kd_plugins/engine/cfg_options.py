"""Check ``--cfg-options`` against the config before they are merged.

MMEngine's ``Config.merge_from_dict`` creates whatever key it is given, so a mistyped
option (``modle.distiller...=1``, ``...distill_losses.nope.loss_weight=1``) changes
nothing and says nothing, or fails much later with a message that does not name it. A
top-level variable of the config file (``unlabeled_ann=...``, ``data_root=...``) is
substituted into other fields while the file is parsed; overriding it afterwards has no
effect either. :func:`check_cfg_options` refuses both before anything is built:

- every component of a key's path must exist in the config (a list index in range);
- the last component must exist too, unless the dict it goes into builds a component
  (``type=...``) whose ``__init__`` takes that argument (e.g.
  ``model.teacher_strict=False``), or it is a Runner section without a ``type`` whose
  arguments are known (``train_cfg``, the dataloaders, ``randomness``, ...);
- a top-level key must be one the Runner (or these tools) reads; a variable that only
  feeds other fields is reported with the fields it feeds, to set instead.

A key written ``+a.b.c=value`` is added as given, without these checks (the way to add a
key the checks do not know). The error names the option, what is missing where, and
the closest existing keys.
"""
import difflib
import inspect
from typing import Dict, List

# top-level keys the MMEngine Runner reads (Runner.from_cfg, wrap_model, train), and
# those kd_plugins' tools read
RUNNER_KEYS = frozenset((
    'model', 'work_dir', 'train_dataloader', 'val_dataloader', 'test_dataloader',
    'train_cfg', 'val_cfg', 'test_cfg', 'auto_scale_lr', 'optim_wrapper',
    'param_scheduler', 'val_evaluator', 'test_evaluator', 'default_hooks',
    'custom_hooks', 'data_preprocessor', 'load_from', 'resume', 'launcher', 'env_cfg',
    'log_processor', 'log_level', 'visualizer', 'default_scope', 'randomness',
    'experiment_name', 'model_wrapper_cfg', 'compile', 'activation_checkpointing',
    'efficient_conv_bn_eval', 'runner_type', 'strategy', 'custom_imports',
    'teacher_ckpt'))
ADD_PREFIX = '+'
N_CLOSE = 3


class ConfigOptionError(ValueError):
    """A ``--cfg-options`` key that would change nothing."""


def _loop_args(*names):
    def args():
        import mmengine.runner as runner
        return set().union(*(init_args(getattr(runner, n)) for n in names)) | {
            'type', 'by_epoch'}
    return args


def _dataloader_args():
    from torch.utils.data import DataLoader
    return init_args(DataLoader) | {'type'}


def _named(*names):
    return lambda: set(names)


# Runner sections built without a ``type`` in the config: the arguments they take
IMPLICIT_ARGS = {
    'train_cfg': _loop_args('EpochBasedTrainLoop', 'IterBasedTrainLoop'),
    'val_cfg': _loop_args('ValLoop'),
    'test_cfg': _loop_args('TestLoop'),
    'train_dataloader': _dataloader_args,
    'val_dataloader': _dataloader_args,
    'test_dataloader': _dataloader_args,
    'randomness': _named('seed', 'diff_rank_seed', 'deterministic'),
    'env_cfg': _named('cudnn_benchmark', 'mp_cfg', 'dist_cfg', 'resource_limit'),
    'log_processor': lambda: init_args(_mmengine('LogProcessor')) | {'type'},
    'optim_wrapper': lambda: init_args(_mmengine('OptimWrapper')) | {
        'type', 'constructor', 'paramwise_cfg', 'optimizer', 'loss_scale', 'dtype',
        'use_fsdp'},
}


def _mmengine(name):
    import mmengine.optim
    import mmengine.runner
    return getattr(mmengine.runner, name, None) or getattr(mmengine.optim, name)


def init_args(obj) -> set:
    """Keyword arguments ``obj`` (a class: every ``__init__`` on its MRO; or a
    function) accepts by name."""
    funcs = [c.__dict__['__init__'] for c in inspect.getmro(obj)
             if '__init__' in c.__dict__] if inspect.isclass(obj) else [obj]
    names = set()
    for func in funcs:
        try:
            params = inspect.signature(func).parameters.values()
        except (TypeError, ValueError):
            continue
        names.update(p.name for p in params if p.name != 'self' and p.kind in (
            p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY))
    return names


def _registries():
    """Every registry of the installed OpenMMLab packages, children included."""
    import importlib

    from mmengine.registry import Registry
    found, todo = [], []
    for pkg in ('mmengine', 'mmrazor', 'mmdet', 'mmseg', 'mmpretrain'):
        try:
            mod = importlib.import_module(f'{pkg}.registry')
        except ImportError:
            continue
        todo += [v for v in vars(mod).values() if isinstance(v, Registry)]
    while todo:
        reg = todo.pop()
        if any(reg is r for r in found):
            continue
        found.append(reg)
        todo += list(reg.children.values())
    return found


def type_args(type_value):
    """Arguments of the component ``type_value`` builds; None if it is not found."""
    if inspect.isclass(type_value) or inspect.isfunction(type_value):
        return init_args(type_value)
    if not isinstance(type_value, str):
        return None
    name = type_value.split('.')[-1]
    targets = [reg.module_dict[name] for reg in _registries() if name in reg.module_dict]
    if not targets:
        return None
    return set().union(*(init_args(t) for t in targets))


def _children(node):
    if isinstance(node, dict):
        return list(node.keys())
    if isinstance(node, (list, tuple)):
        return [str(i) for i in range(len(node))]
    return []


def _child(node, part):
    if isinstance(node, dict):
        return node[part] if part in node else KeyError
    if isinstance(node, (list, tuple)) and part.isdigit() and int(part) < len(node):
        return node[int(part)]
    return KeyError


def all_paths(node, prefix='', depth=8) -> List[str]:
    """Every dotted key path in a config (dicts and list indices)."""
    out = []
    if depth == 0:
        return out
    for key in _children(node):
        path = f'{prefix}{key}'
        out.append(path)
        out += all_paths(_child(node, key), path + '.', depth - 1)
    return out


def leaf_args(parents: List[str], parent) -> set:
    """Keys a missing leaf may still take under ``parent`` (see the module docs)."""
    if isinstance(parent, dict) and parent.get('type') is not None:
        return type_args(parent['type']) or set()
    if len(parents) == 1 and parents[0] in IMPLICIT_ARGS:
        return IMPLICIT_ARGS[parents[0]]()
    return set()


def feeds(cfg, value, skip: str) -> List[str]:
    """Paths of the fields the Runner reads whose value equals ``value`` (what a
    top-level variable was substituted into)."""
    if value is None or isinstance(value, bool):
        return []
    found = []
    for path in all_paths(cfg):
        top = path.split('.')[0]
        if top in RUNNER_KEYS and top != skip:
            held = _lookup(cfg, path)
            if held == value and not isinstance(held, bool):
                found.append(path)
    return found


def _lookup(cfg, path):
    node = cfg
    for part in path.split('.'):
        node = _child(node, part)
    return node


def _closest(cfg, key) -> str:
    close = difflib.get_close_matches(key, all_paths(cfg), n=N_CLOSE, cutoff=0.6)
    return f'closest keys: {", ".join(close)}' if close else 'no close key'


def check_key(cfg, key: str, cfg_path: str):
    """Raise :class:`ConfigOptionError` if option ``key`` would change nothing."""
    where = f'--cfg-options {key}'
    parts = key.split('.')
    top, rest = parts[0], '.'.join(parts[1:])
    if top not in RUNNER_KEYS:
        if top not in cfg:
            raise ConfigOptionError(
                f'{where}: {cfg_path} has no top-level key {top!r} and the Runner '
                f'reads none by that name ({_closest(cfg, key)}). Write +{key}=... to '
                'add it anyway')
        fed = [f'{p}.{rest}' if rest else p for p in feeds(cfg, cfg[top], top)]
        how = (f'its value was substituted into {", ".join(fed[:6])}'
               f'{" ..." if len(fed) > 6 else ""}: set that instead, e.g. '
               f'--cfg-options {fed[0]}=...' if fed else
               'no field of the parsed config holds its value')
        raise ConfigOptionError(
            f'{where} has no effect: {top!r} is a variable of {cfg_path}, read only '
            f'while the file is parsed; {how}')
    if len(parts) == 1:
        return
    node = cfg
    for i, part in enumerate(parts):
        child = _child(node, part)
        if child is KeyError:
            break
        node = child
    else:
        return  # the key exists
    parent_path = '.'.join(parts[:i])
    # a new key is an argument of the component that holds it; a deeper key builds a
    # dict for that argument (dataset.metainfo.classes=[...])
    allowed = leaf_args(parts[:i], node)
    if part in allowed:
        return
    if i == 0 and len(parts) == 2 and part in IMPLICIT_ARGS:
        # a Runner section the config leaves to its defaults (e.g. randomness.seed)
        allowed = IMPLICIT_ARGS[part]()
        if parts[1] in allowed:
            return
    close_args = difflib.get_close_matches(parts[-1], sorted(allowed), n=N_CLOSE)
    takes = f'; {parent_path or part} takes e.g. {", ".join(close_args)}' \
        if close_args else ''
    at = f'{parent_path} has no key {part!r}' if parent_path else \
        f'there is no top-level key {part!r}'
    has = _children(node) if parent_path else []
    listing = (f' ({parent_path} has: {", ".join(has[:12])}'
               f'{" ..." if len(has) > 12 else ""})') if has else ''
    raise ConfigOptionError(
        f'{where}: {at} in {cfg_path}{listing}{takes}; {_closest(cfg, key)}. Write '
        f'+{key}=... to add the key anyway')


def check_cfg_options(cfg, options: Dict, cfg_path: str) -> Dict:
    """Check every option (see the module docs); returns them with the ``+`` of
    added keys removed, ready for ``cfg.merge_from_dict``."""
    cfg = getattr(cfg, '_cfg_dict', cfg)  # an mmengine Config: its ConfigDict
    out = {}
    for key, value in options.items():
        if key.startswith(ADD_PREFIX):
            out[key[len(ADD_PREFIX):]] = value
            continue
        check_key(cfg, key, cfg_path)
        out[key] = value
    return out
