"""Export the student of a distillation checkpoint as a plain codebase model.

    python tools/export_student.py CKPT --config DISTILL_CFG --out DIR
    mim run kd_plugins export_student CKPT --config DISTILL_CFG --out DIR

Writes ``DIR/student.pth`` (``state_dict`` + ``meta``, loadable with
``torch.load(weights_only=True)``) and ``DIR/student.py`` (the student's own standalone
config: model, data, evaluator; no kd_plugins needed), so that
``mim test mmdet DIR/student.py --checkpoint DIR/student.pth`` evaluates it. A plain
(non-distillation) config is exported the same way. An evaluator that uses a kd_plugins
metric (e.g. ``BoundaryFScore``) keeps ``custom_imports = ['kd_plugins']`` in the
exported config, so ``mim test mmseg`` finds the metric (the same for a model that uses a
kd_plugins module, e.g. the metric-learning ``EmbeddingHead``).

``--part teacher`` exports the teacher instead, for methods that train it too (M8's
mutual metric learning): ``DIR/teacher.pth`` and ``DIR/teacher.py``.
"""
import argparse
import io
import os
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from _common import ensure_importable  # noqa: E402

STUDENT_PREFIX = 'architecture.'
# --part -> (key of the model in a distillation config, prefix of its weights)
PARTS = {'student': ('architecture', STUDENT_PREFIX), 'teacher': ('teacher', 'teacher.')}
# keys of a training config that only make sense with kd_plugins or the distillation run
KD_ONLY_KEYS = ('custom_imports', 'model_wrapper_cfg', 'teacher_ckpt', 'student',
                'load_from', 'resume', 'work_dir', 'launcher')
SAFE_TYPES = (str, int, float, bool, type(None))


def plain(obj):
    """Keep only what ``torch.load(weights_only=True)`` can read back."""
    if isinstance(obj, dict):
        return {str(k): plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [plain(v) for v in obj]
    if isinstance(obj, SAFE_TYPES):
        return obj
    if hasattr(obj, 'item') and getattr(obj, 'ndim', 1) == 0:
        return obj.item()
    if hasattr(obj, 'tolist'):
        return obj.tolist()
    return str(obj)


def student_state_dict(state_dict, is_distill, part='student'):
    if not is_distill:
        return dict(state_dict)
    prefix = PARTS[part][1]
    out = {k[len(prefix):]: v for k, v in state_dict.items() if k.startswith(prefix)}
    if not out:
        raise SystemExit(f'error: the checkpoint holds no "{prefix}" ({part}) '
                         'weights; is it a checkpoint of this distillation config?')
    return out


def config_types(obj):
    """Every ``type`` name in a config dict (nested), without scope prefixes."""
    if isinstance(obj, dict):
        found = [str(obj['type']).split('.')[-1]] if isinstance(obj.get('type'), str) \
            else []
        return found + [t for v in obj.values() for t in config_types(v)]
    if isinstance(obj, (list, tuple)):
        return [t for v in obj for t in config_types(v)]
    return []


def kd_plugins_types():
    """Names that kd_plugins registers in the OpenMMLab model and metric registries."""
    import importlib
    names = set()
    for pkg in ('mmpretrain', 'mmdet', 'mmseg', 'mmrazor'):
        try:
            reg = importlib.import_module(f'{pkg}.registry')
        except ImportError:  # pragma: no cover - codebase not installed
            continue
        for registry in (reg.MODELS, reg.METRICS):
            names.update(name for name, cls in registry.module_dict.items()
                         if cls.__module__.startswith('kd_plugins'))
    return names


def student_config(cfg, is_distill, part='student'):
    from mmengine.config import Config

    d = cfg.to_dict()
    if is_distill:
        d['model'] = d['model'][PARTS[part][0]]
        if d['model'].get('cfg_path'):
            raise SystemExit(f'error: the {part} is given as cfg_path='
                             f'{d["model"]["cfg_path"]!r}: evaluate it with that config')
    d['model'].pop('_scope_', None)
    for key in KD_ONLY_KEYS:
        d.pop(key, None)
    used = config_types([d.get(k) for k in ('model', 'val_evaluator', 'test_evaluator')])
    if set(used) & kd_plugins_types():
        d['custom_imports'] = dict(imports=['kd_plugins'], allow_failed_imports=False)
    d.setdefault('default_scope', 'mmdet')
    return Config(d)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Export the student model')
    parser.add_argument('checkpoint', help='checkpoint of the distillation run')
    parser.add_argument('--config', required=True, help='the config it was trained with')
    parser.add_argument('--out', required=True, help='output folder')
    parser.add_argument('--part', choices=sorted(PARTS), default='student',
                        help='which network of a distillation checkpoint (default: '
                        'student; teacher for methods that train it, e.g. M8)')
    parser.add_argument('--name', default=None,
                        help='file stem of the outputs (default: the part)')
    return parser.parse_args(argv)


def export(checkpoint, config, out, name=None, part='student'):
    import torch
    from mmengine.config import Config
    from mmengine.runner import CheckpointLoader

    import kd_plugins
    from kd_plugins.engine.atomic_io import atomic_write

    for what, path in (('checkpoint', checkpoint), ('--config', config)):
        if not osp.isfile(path):
            raise SystemExit(f'error: {what} file {path!r} not found')
    cfg = Config.fromfile(config)
    model_cfg = cfg.get('model', None)
    if not isinstance(model_cfg, dict):
        raise SystemExit(f'error: {config} has no model')
    is_distill = 'architecture' in model_cfg
    ckpt = CheckpointLoader.load_checkpoint(checkpoint, map_location='cpu')
    state = ckpt.get('state_dict', ckpt)
    weights = student_state_dict(state, is_distill, part)
    name = name or part
    meta = plain(ckpt.get('meta', {}) or {})
    keep = {k: meta[k] for k in ('dataset_meta', 'epoch', 'iter', 'seed', 'exp_name')
            if k in meta}
    keep.update(kd_plugins_version=kd_plugins.__version__,
                exported_from=osp.abspath(checkpoint), config=osp.abspath(config))
    os.makedirs(out, exist_ok=True)
    ckpt_path = osp.join(out, f'{name}.pth')
    cfg_path = osp.join(out, f'{name}.py')
    buf = io.BytesIO()
    torch.save(dict(state_dict=weights, meta=keep), buf)
    atomic_write(ckpt_path, buf.getvalue(), 'wb')
    atomic_write(cfg_path, student_config(cfg, is_distill, part).pretty_text, 'w')
    # round trip: the file must read back without unpickling arbitrary objects
    back = torch.load(ckpt_path, map_location='cpu', weights_only=True)
    assert set(back['state_dict']) == set(weights)
    print(f'exported {len(weights)} tensors -> {ckpt_path}\nconfig -> {cfg_path}')
    return ckpt_path, cfg_path


def main(argv=None):
    ensure_importable()
    args = parse_args(argv)
    export(args.checkpoint, args.config, args.out, args.name, args.part)


if __name__ == '__main__':
    main()
