"""Export the student of a distillation checkpoint as a plain codebase model.

    python tools/export_student.py CKPT --config DISTILL_CFG --out DIR
    mim run kd_plugins export_student CKPT --config DISTILL_CFG --out DIR

Writes ``DIR/student.pth`` (``state_dict`` + ``meta``, loadable with
``torch.load(weights_only=True)``) and ``DIR/student.py`` (the student's own standalone
config: model, data, evaluator; no kd_plugins needed), so that
``mim test mmdet DIR/student.py --checkpoint DIR/student.pth`` evaluates it. A plain
(non-distillation) config is exported the same way. An evaluator that uses a kd_plugins
metric (e.g. ``BoundaryFScore``) keeps ``custom_imports = ['kd_plugins']`` in the
exported config, so ``mim test mmseg`` finds the metric.
"""
import argparse
import io
import os
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from _common import ensure_importable  # noqa: E402

STUDENT_PREFIX = 'architecture.'
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


def student_state_dict(state_dict, is_distill):
    if not is_distill:
        return dict(state_dict)
    out = {k[len(STUDENT_PREFIX):]: v for k, v in state_dict.items()
           if k.startswith(STUDENT_PREFIX)}
    if not out:
        raise SystemExit('error: the checkpoint holds no "architecture." (student) '
                         'weights; is it a checkpoint of this distillation config?')
    return out


def evaluator_types(d):
    """Metric type names of a config dict's val / test evaluators."""
    found = []
    for key in ('val_evaluator', 'test_evaluator'):
        ev = d.get(key) or []
        if isinstance(ev, dict):
            ev = ev.get('metrics', [ev]) if 'type' not in ev else [ev]
        found += [m.get('type') for m in (ev if isinstance(ev, list) else [ev])
                  if isinstance(m, dict)]
    return found


def student_config(cfg, is_distill):
    from mmengine.config import Config

    from kd_plugins.evaluation.metrics import __all__ as kd_metrics
    d = cfg.to_dict()
    if is_distill:
        d['model'] = d['model']['architecture']
    d['model'].pop('_scope_', None)
    for key in KD_ONLY_KEYS:
        d.pop(key, None)
    if any(str(t).split('.')[-1] in kd_metrics for t in evaluator_types(d)):
        d['custom_imports'] = dict(imports=['kd_plugins'], allow_failed_imports=False)
    d.setdefault('default_scope', 'mmdet')
    return Config(d)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Export the student model')
    parser.add_argument('checkpoint', help='checkpoint of the distillation run')
    parser.add_argument('--config', required=True, help='the config it was trained with')
    parser.add_argument('--out', required=True, help='output folder')
    parser.add_argument('--name', default='student',
                        help='file stem of the outputs (default: student)')
    return parser.parse_args(argv)


def export(checkpoint, config, out, name='student'):
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
    weights = student_state_dict(state, is_distill)
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
    atomic_write(cfg_path, student_config(cfg, is_distill).pretty_text, 'w')
    # round trip: the file must read back without unpickling arbitrary objects
    back = torch.load(ckpt_path, map_location='cpu', weights_only=True)
    assert set(back['state_dict']) == set(weights)
    print(f'exported {len(weights)} tensors -> {ckpt_path}\nconfig -> {cfg_path}')
    return ckpt_path, cfg_path


def main(argv=None):
    ensure_importable()
    args = parse_args(argv)
    export(args.checkpoint, args.config, args.out, args.name)


if __name__ == '__main__':
    main()
