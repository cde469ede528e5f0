"""kd_plugins/datasets/toy/common.py and the package: caching, atomic install, format
version, loader options, imports without torch."""
import json
import os
import subprocess
import sys

import pytest
from toy_helpers import REPO_ROOT, tree

from kd_plugins.datasets import toy


def test_public_api():
    for name in toy.__all__:
        assert getattr(toy, name) is not None, name
    assert {'make_det', 'make_seg', 'make_cls', 'make_retrieval', 'loader_options',
            'semi_split_names', 'split_det_semi', 'retrieval_classes',
            'FORMAT_VERSION'} <= set(toy.__all__)
    assert toy.FORMAT_VERSION == 2


def test_loader_options_cover_three_splits():
    opts = toy.loader_options('/data/x', batch_size=3)
    for split in ('train', 'val', 'test'):
        assert opts[f'{split}_dataloader.dataset.data_root'] == '/data/x/'
        assert opts[f'{split}_dataloader.num_workers'] == 0
        assert opts[f'{split}_dataloader.batch_size'] == 3
    assert 'train_dataloader.batch_size' not in toy.loader_options('/data/x')


def test_rerun_is_noop_and_changed_args_need_overwrite(tmp_path):
    out = tmp_path / 'cls'
    kw = dict(num_train_per_class=2, num_val_per_class=1, num_test_per_class=1,
              img_size=16)
    first = toy.make_cls(out, **kw)
    assert first['skipped'] is False
    marker = out / 'test' / 'dots' / '000000.png'
    mtime = os.stat(marker).st_mtime_ns
    before = tree(out)
    second = toy.make_cls(out, **kw)
    assert second['skipped'] is True
    assert os.stat(marker).st_mtime_ns == mtime
    assert tree(out) == before
    with open(out / 'meta.json') as f:
        meta = json.load(f)
    assert meta['kind'] == 'cls' and meta['args']['seed'] == 0
    assert meta['args']['num_test_per_class'] == 1
    assert meta['format_version'] == toy.FORMAT_VERSION

    with pytest.raises(ValueError, match='overwrite'):
        toy.make_cls(out, **dict(kw, num_test_per_class=2))
    with pytest.raises(ValueError, match='overwrite'):  # other kind
        toy.make_seg(out, num_train=1, num_val=1, num_test=1)
    assert tree(out) == before

    third = toy.make_cls(out, **dict(kw, num_test_per_class=3), overwrite=True)
    assert third['skipped'] is False
    assert len(os.listdir(out / 'test' / 'dots')) == 3
    # nothing but the output directory is left next to it
    assert sorted(os.listdir(tmp_path)) == ['cls']


def test_old_format_version_is_refused_then_regenerated(tmp_path):
    out = tmp_path / 'seg'
    kw = dict(num_train=1, num_val=1, num_test=1, img_size=32)
    toy.make_seg(out, **kw)
    meta_path = out / 'meta.json'
    meta = json.loads(meta_path.read_text())
    meta['format_version'] = 1  # data cached by the two-split generator
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(ValueError, match=r'format_version=1.*format_version=2.*'
                                         r'overwrite=True'):
        toy.make_seg(out, **kw)
    res = toy.make_seg(out, **kw, overwrite=True)
    assert res['skipped'] is False
    assert json.loads(meta_path.read_text())['format_version'] == 2


def test_foreign_directory_is_protected(tmp_path):
    out = tmp_path / 'mine'
    out.mkdir()
    (out / 'keep.txt').write_text('precious')
    kw = dict(num_train_classes=1, num_val_classes=1, num_test_classes=1,
              imgs_per_class=2, img_size=32)
    with pytest.raises(ValueError, match='overwrite'):
        toy.make_retrieval(out, **kw)
    assert (out / 'keep.txt').read_text() == 'precious'
    # an existing empty directory is simply filled
    empty = tmp_path / 'empty'
    empty.mkdir()
    res = toy.make_retrieval(empty, **kw)
    assert res['skipped'] is False and (empty / 'test.txt').is_file()


def test_package_loads_without_torch(tmp_path):
    """tools/make_toy_data.py loads the package from its folder: no torch, no mmengine,
    no kd_plugins import."""
    code = (
        'import runpy, sys\n'
        f"sys.argv = ['make_toy_data.py', 'det', '--out', {str(tmp_path / 'd')!r},\n"
        "            '--num-train', '1', '--num-val', '1', '--num-test', '1',\n"
        "            '--img-size', '32']\n"
        'try:\n'
        "    runpy.run_path('tools/make_toy_data.py', run_name='__main__')\n"
        'except SystemExit as e:\n'
        '    assert not e.code, e.code\n'
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in\n"
        "               ('torch', 'mmengine', 'mmdet', 'kd_plugins'))\n"
        "print('HEAVY', heavy)\n"
        "print('TOY', sorted(m for m in sys.modules\n"
        "                    if m.startswith('_kd_plugins_toy')))\n")
    res = subprocess.run([sys.executable, '-c', code], cwd=REPO_ROOT,
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert 'HEAVY []' in res.stdout, res.stdout
    for mod in ('common', 'det', 'seg', 'cls', 'retrieval', 'semi'):
        assert f"'_kd_plugins_toy.{mod}'" in res.stdout
    assert (tmp_path / 'd' / 'annotations' / 'test.json').is_file()


def test_modules_import_only_numpy_pillow_stdlib():
    import ast
    folder = os.path.join(REPO_ROOT, 'kd_plugins', 'datasets', 'toy')
    allowed = {'numpy', 'PIL', 'colorsys', 'json', 'math', 'os', 'shutil', 'time',
               'zlib'}
    for name in sorted(os.listdir(folder)):
        if not name.endswith('.py'):
            continue
        with open(os.path.join(folder, name)) as f:
            tree_ = ast.parse(f.read())
        for node in ast.walk(tree_):
            if isinstance(node, ast.Import):
                mods = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:  # relative: inside the package
                    continue
                mods = [node.module]
            else:
                continue
            for mod in mods:
                assert mod.split('.')[0] in allowed, (name, mod)
