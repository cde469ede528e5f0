"""Every shipped config parses, builds its model offline, and names no download."""
import glob
import os.path as osp
import re

import pytest
from mmengine.config import Config

from conftest import CONFIGS

ALL = sorted(p for p in glob.glob(osp.join(CONFIGS, '**', '*.py'), recursive=True)
             if '_base_' not in p)
BASES = sorted(glob.glob(osp.join(CONFIGS, '_base_', '**', '*.py'), recursive=True))
URL = re.compile(r'^[a-z][a-z0-9+.-]*://', re.I)
PKG_REF = re.compile(r"""['"](mm[a-z]+)::([^'"]+)['"]""")


def test_there_are_configs():
    assert len(ALL) >= 3


def walk(obj, path=''):
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from walk(v, f'{path}.{k}' if path else str(k))
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            yield from walk(v, f'{path}[{i}]')
    else:
        yield path, obj


@pytest.mark.parametrize('path', ALL + BASES, ids=lambda p: osp.relpath(p, CONFIGS))
def test_package_references_exist(path):
    """mmdet 3.x renamed config files (breakage 8): every `pkg::file` must exist."""
    import importlib
    text = open(path).read()
    for pkg, rel in PKG_REF.findall(text):
        mod = importlib.import_module(pkg)
        root = osp.join(osp.dirname(mod.__file__), '.mim', 'configs')
        assert osp.isfile(osp.join(root, rel)), f'{path}: {pkg}::{rel} does not exist'


@pytest.mark.parametrize('path', ALL, ids=lambda p: osp.relpath(p, CONFIGS))
def test_config_names_no_download(path):
    cfg = Config.fromfile(path)
    for key, value in walk(cfg.to_dict()):
        if isinstance(value, str):
            assert not URL.match(value), f'{key}={value!r} would download at run time'
        if key.endswith('pretrained'):
            assert value in (None, False) or (isinstance(value, str)
                                              and not URL.match(value)), key
    assert cfg.get('custom_imports', {}).get('imports') == ['kd_plugins']


@pytest.mark.parametrize('path', ALL, ids=lambda p: osp.relpath(p, CONFIGS))
def test_config_model_builds(path):
    from mmengine.registry import init_default_scope
    from mmrazor.registry import MODELS
    cfg = Config.fromfile(path)
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    model_cfg = cfg.model
    if 'teacher_ckpt' in model_cfg:
        model_cfg.teacher_ckpt = None  # no checkpoint here: the build must still work
    model = MODELS.build(model_cfg)
    assert sum(p.numel() for p in model.parameters()) > 0
