import os
import os.path as osp
import shutil

from setuptools import find_packages, setup

HERE = osp.dirname(osp.abspath(__file__))
# mim finds a package's tools and configs in <package>/.mim (as in mmdet's wheel)
MIM_FILES = ['tools', 'configs', 'model-index.yml']


def read_version():
    ns = {}
    with open(osp.join(HERE, 'kd_plugins', 'version.py')) as f:
        exec(f.read(), ns)
    return ns['__version__']


def read_requirements(path):
    reqs = []
    with open(osp.join(HERE, path)) as f:
        for line in f:
            line = line.split('#')[0].strip()
            if line and not line.startswith('-'):
                reqs.append(line)
    return reqs


def add_mim_extension():
    """Put tools/ and configs/ under kd_plugins/.mim.

    Editable installs (develop) get symlinks so edits show at once; a wheel or sdist
    build gets copies.
    """
    import sys
    mode = 'symlink' if any(a in sys.argv for a in ('develop', 'editable_wheel')) \
        else 'copy'
    mim_dir = osp.join(HERE, 'kd_plugins', '.mim')
    os.makedirs(mim_dir, exist_ok=True)
    for name in MIM_FILES:
        src = osp.join(HERE, name)
        dst = osp.join(mim_dir, name)
        if not osp.exists(src):
            continue
        if osp.islink(dst) or osp.isfile(dst):
            os.remove(dst)
        elif osp.isdir(dst):
            shutil.rmtree(dst)
        if mode == 'symlink':
            os.symlink(osp.relpath(src, mim_dir), dst)
        elif osp.isdir(src):
            shutil.copytree(src, dst)
        else:
            shutil.copyfile(src, dst)


if __name__ == '__main__':
    add_mim_extension()
    setup(
        name='kd_plugins',
        version=read_version(),
        description='Knowledge-distillation methods for MMRazor / MMDetection',
        long_description=open(osp.join(HERE, 'README.md')).read()
        if osp.exists(osp.join(HERE, 'README.md')) else '',
        long_description_content_type='text/markdown',
        packages=find_packages(exclude=('configs', 'tools', 'tests')),
        include_package_data=True,
        package_data={'kd_plugins': ['.mim/**/*', '.mim/*', 'service/static/*']},
        entry_points={'console_scripts': [
            'kd-serve-seg = kd_plugins.service.cli:main']},
        python_requires='>=3.8',
        install_requires=read_requirements('requirements/mminstall.txt'),
        extras_require={
            'tests': read_requirements('requirements/tests.txt'),
            'mim': read_requirements('requirements/mim.txt'),
        },
        license='Apache License 2.0',
        zip_safe=False)
