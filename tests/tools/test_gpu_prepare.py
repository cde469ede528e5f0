"""tools/gpu/prepare.sh (the GPU kit's wheelhouse maker): its package lists and helper.

Fast and offline: the lists in tools/gpu/ against what the project declares, the
helper's pieces (stand-in wheels, pip-check filter, prune/missing/manifest) on fake files.
The download and the completeness check itself are run by the script, not here.
"""
import importlib.util
import os
import os.path as osp
import shutil
import subprocess
import zipfile

import pytest

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
GPU = osp.join(ROOT, 'tools', 'gpu')
WHEELS_TXT = osp.join(GPU, 'wheels.txt')
IMAGE_TXT = osp.join(GPU, 'image.txt')


def _load_kit():
    spec = importlib.util.spec_from_file_location('gpu_kit_helper',
                                                  osp.join(GPU, 'kit.py'))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


kit = _load_kit()


def declared_requirements():
    """(file, requirement line) of everything the project declares for pip."""
    out = []
    for name in ('runtime.txt', 'mim.txt', 'tests.txt', 'mminstall.txt', 'build.txt'):
        with open(osp.join(ROOT, 'requirements', name)) as f:
            for line in f:
                line = line.split('#')[0].strip()
                if line and not line.startswith('-'):
                    out.append((name, line))
    return out


def test_lists_parse():
    entries = kit.parse_wheels_txt(WHEELS_TXT)
    image = kit.parse_image_txt(IMAGE_TXT)
    kinds = {e.kind for e in entries}
    assert {'wheel', 'sdist', 'ifneeded', 'project', 'skip'} <= kinds
    # the versions the stand-ins must have for the check to mean anything
    assert image['torch'] == '2.11.0'
    assert image['torchvision'] == '0.26.0'
    assert image['numpy'] == '2.5.2'
    assert 'opencv-python-headless' in image and 'opencv-python' not in image


def test_every_declared_requirement_is_carried_or_in_the_image():
    pytest.importorskip('packaging')
    from packaging.requirements import Requirement
    entries = {e.name: e for e in kit.parse_wheels_txt(WHEELS_TXT)}
    image = kit.parse_image_txt(IMAGE_TXT)
    uncovered, wrong_version = [], []
    for fname, line in declared_requirements():
        req = Requirement(line)
        name = kit.norm(req.name)
        e = entries.get(name)
        if e is not None and e.kind in ('wheel', 'sdist', 'ifneeded'):
            if not req.specifier.contains(e.version, prereleases=True):
                wrong_version.append(f'{fname}: {line} (carried: {e.version})')
        elif e is None and name not in image:
            uncovered.append(f'{fname}: {line}')
    assert not uncovered, f'neither carried nor in the image: {uncovered}'
    assert not wrong_version, wrong_version
    # the pins of tools/install.sh / ENVIRONMENT.md
    want = {'mmcv': ('2.1.0', 'sdist'), 'mmengine': ('0.10.7', 'wheel'),
            'mmdet': ('3.3.0', 'wheel'), 'mmsegmentation': ('1.2.2', 'wheel'),
            'mmrazor': ('1.0.0', 'wheel'), 'mmpretrain': ('1.2.0', 'wheel'),
            'openmim': ('0.3.9', 'wheel'), 'kd-plugins': (None, 'project')}
    assert {n: (entries[n].version, entries[n].kind) for n in want} == want
    # setuptools must stay in mmcv's / mmengine's window (pkg_resources)
    st = entries['setuptools']
    assert st.kind == 'ifneeded' and st.cond == '>=77,<81'
    assert (77, 0) <= tuple(int(x) for x in st.version.split('.')[:2]) < (81, 0)


def test_carried_packages_do_not_duplicate_the_image():
    image = kit.parse_image_txt(IMAGE_TXT)
    for e in kit.parse_wheels_txt(WHEELS_TXT):
        if e.kind in ('wheel', 'sdist', 'project'):
            assert e.name not in image, f'{e.name} is in the image: make it ifneeded'
        elif e.kind == 'ifneeded':
            assert e.name in image, f'{e.name} is not in the image: make it a wheel'
            assert kit.lower_bound(e.cond), e.cond
        elif e.kind == 'skip':
            assert e.comment, f'skip line {e.name} needs a reason'


def test_wheels_txt_rejects_bad_lines(tmp_path):
    bad = {
        'mmdet wheel\n': 'pinned',
        'mmdet==3.3.0 wheels\n': 'KIND',
        'mmdet==3.3.0 wheel\nMMDet==3.2.0 wheel\n': 'twice',
        'setuptools==80.10.2 ifneeded\n': 'CONDITION',
        'opencv-python==4.0 skip\n': 'no version',
    }
    for text, msg in bad.items():
        p = tmp_path / 'w.txt'
        p.write_text(text)
        with pytest.raises(ValueError, match=msg):
            kit.parse_wheels_txt(str(p))


def test_gitignore_ignores_the_wheelhouse():
    with open(osp.join(ROOT, '.gitignore')) as f:
        lines = [ln.strip() for ln in f]
    assert '/gpu_kit/wheels/' in lines
    if shutil.which('git') and osp.isdir(osp.join(ROOT, '.git')):
        for name in ('mmcv-2.1.0.tar.gz', 'MANIFEST.txt', 'IMAGE_NEEDS.txt', 'x.whl'):
            r = subprocess.run(['git', 'check-ignore', '-q', f'gpu_kit/wheels/{name}'],
                               cwd=ROOT)
            assert r.returncode == 0, f'gpu_kit/wheels/{name} is not ignored'


def test_prepare_sh_is_valid_bash():
    script = osp.join(GPU, 'prepare.sh')
    assert os.access(script, os.X_OK)
    subprocess.run(['bash', '-n', script], check=True)


def test_stand_in_wheel(tmp_path):
    fn = kit.stub_wheel('typing-inspect', '0+unknown', str(tmp_path))
    assert osp.basename(fn) == 'typing_inspect-0+unknown-py3-none-any.whl'
    assert kit.dist_of_file(osp.basename(fn)) == ('typing-inspect', '0+unknown', 'wheel')
    with zipfile.ZipFile(fn) as z:
        names = set(z.namelist())
        meta = z.read('typing_inspect-0+unknown.dist-info/METADATA').decode()
        record = z.read('typing_inspect-0+unknown.dist-info/RECORD').decode()
    assert names == {f'typing_inspect-0+unknown.dist-info/{n}'
                     for n in ('METADATA', 'WHEEL', 'RECORD')}  # no code at all
    assert 'Name: typing-inspect\nVersion: 0+unknown\n' in meta
    assert kit.STUB_SUMMARY in meta
    assert all(n in record for n in names)


def test_dist_of_file():
    f = kit.dist_of_file
    assert f('mmcv-2.1.0.tar.gz') == ('mmcv', '2.1.0', 'sdist')
    assert f('ordered_set-4.1.0-py3-none-any.whl') == ('ordered-set', '4.1.0', 'wheel')
    assert f('pydantic_core-2.50.5-cp312-cp312-manylinux2014_x86_64.'
             'manylinux_2_17_x86_64.whl') == ('pydantic-core', '2.50.5', 'wheel')
    assert f('addict-2.4.0-py3-none-any.whl.part') is None
    assert f('MANIFEST.txt') is None


def test_pipcheck_filter():
    out = ('mmengine 0.10.7 requires opencv-python, which is not installed.\n'
           'openmim 0.3.9 requires opendatalab, which is not installed.\n'
           'mmdet 3.3.0 requires terminaltables, which is not installed.\n'
           'starlette 1.10.0 has requirement anyio<5,>=4.0.0, but you have '
           'anyio 5.0.0.\n')
    bad = kit.pipcheck_problems(out, {'opencv-python', 'opendatalab'})
    assert bad == ['mmdet 3.3.0 requires terminaltables, which is not installed.',
                   'starlette 1.10.0 has requirement anyio<5,>=4.0.0, but you have '
                   'anyio 5.0.0.']
    assert kit.pipcheck_problems('No broken requirements found.\n', set()) == []


def test_lower_bound():
    assert kit.lower_bound('>=77,<81') == '77'
    assert kit.lower_bound('<81') is None


def _touch(d, name, size=10):
    with open(osp.join(d, name), 'wb') as f:
        f.write(b'x' * size)


def test_prune_missing_manifest(tmp_path, capsys):
    wheels = tmp_path / 'wheels.txt'
    wheels.write_text('addict==2.4.0 wheel\nmmcv==2.1.0 sdist\n'
                      'termcolor==3.3.0 wheel\nopencv-python skip  # cv2 from headless\n')
    d = str(tmp_path / 'kit')
    os.makedirs(d)
    _touch(d, 'addict-2.4.0-py3-none-any.whl')
    _touch(d, 'addict-2.3.0-py3-none-any.whl')          # an old pin
    _touch(d, 'termcolor-3.3.0-py3-none-any.whl.part')  # a killed download
    _touch(d, 'mmcv-2.1.0.tar.gz', 2**20)
    _touch(d, 'MANIFEST.txt')
    # two versions of one package: refused
    assert kit.cmd_manifest(str(wheels), d, 60) == 1
    assert 'addict: 2 files' in capsys.readouterr().err
    kit.cmd_prune(str(wheels), d)
    assert sorted(os.listdir(d)) == ['MANIFEST.txt', 'addict-2.4.0-py3-none-any.whl',
                                     'mmcv-2.1.0.tar.gz']
    capsys.readouterr()
    kit.cmd_missing(str(wheels), d)
    assert capsys.readouterr().out.split() == ['termcolor==3.3.0']
    kit.cmd_missing_sdists(str(wheels), d)
    assert capsys.readouterr().out.strip() == ''
    # termcolor missing: refused; once there: a manifest, and the size limit holds
    assert kit.cmd_manifest(str(wheels), d, 60) == 1
    assert 'termcolor 3.3.0 (wheel): missing' in capsys.readouterr().err
    _touch(d, 'termcolor-3.3.0-py3-none-any.whl')
    assert kit.cmd_manifest(str(wheels), d, 60) == 0
    manifest = open(osp.join(d, 'MANIFEST.txt')).read()
    assert 'mmcv 2.1.0 sdist 1048576 ' in manifest
    assert kit.cmd_manifest(str(wheels), d, 1) == 1  # 1 MiB + 20 bytes >= 1 MiB
    assert 'too large' in capsys.readouterr().err
