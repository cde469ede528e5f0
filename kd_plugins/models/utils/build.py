"""Build a codebase model (student / teacher) from inside an MMRazor algorithm."""
import importlib

from .config_checks import DistillConfigError

CODEBASES = ('mmdet', 'mmseg', 'mmpretrain')


def infer_scope(type_name: str):
    """The codebase scopes whose model registry holds ``type_name``."""
    from mmengine.registry import MODELS as ROOT
    for pkg in CODEBASES:
        try:
            importlib.import_module(f'{pkg}.registry')
        except ImportError:  # pragma: no cover - codebase not installed
            continue
    hits = []
    for scope, child in ROOT.children.items():
        if scope not in CODEBASES:
            continue
        child.import_from_location()
        if type_name in child.module_dict:
            hits.append(scope)
    return hits


def build_codebase_model(cfg, field: str):
    """Build ``cfg`` (a dict) in its codebase's scope.

    Inside an MMRazor algorithm the default scope is ``mmrazor``, where ``YOLOV3`` or
    ``EncoderDecoder`` are unknown. A ``_scope_`` in the dict wins; otherwise the one
    codebase that registers the type is used.
    """
    from mmrazor.registry import MODELS
    if not isinstance(cfg, dict) or cfg.get('_scope_') or cfg.get('cfg_path') or \
            not isinstance(cfg.get('type'), str) or '.' in cfg['type']:
        return MODELS.build(cfg)
    hits = infer_scope(cfg['type'])
    if len(hits) == 1:
        cfg = dict(cfg)
        cfg['_scope_'] = hits[0]
        return MODELS.build(cfg)
    if not hits:
        try:
            return MODELS.build(cfg)
        except KeyError as err:
            raise DistillConfigError(
                f'{field}.type={cfg["type"]!r} is not a registered model of '
                f'{", ".join(CODEBASES)} or mmrazor: {err}') from err
    raise DistillConfigError(
        f'{field}.type={cfg["type"]!r} is registered by several codebases {hits}; '
        f"set {field}._scope_ to one of them (e.g. _scope_='{hits[0]}')")
