"""Shared helpers of the kd_plugins/datasets/toy tests."""
import os
import os.path as osp
import subprocess
import sys

import numpy as np
from PIL import Image

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
CLI = osp.join(REPO_ROOT, 'tools', 'make_toy_data.py')


def tree(root):
    """{relative path: bytes} of every file below root."""
    out = {}
    for dirpath, _, files in os.walk(root):
        for f in files:
            p = osp.join(dirpath, f)
            with open(p, 'rb') as fh:
                out[osp.relpath(p, root).replace(os.sep, '/')] = fh.read()
    return out


def png(path):
    return np.asarray(Image.open(path))


def under(files, prefix):
    """The part of ``files`` (a :func:`tree`) under ``prefix``, keys relative to it."""
    return {k[len(prefix):]: v for k, v in files.items() if k.startswith(prefix)}


def cli(*args, cwd=REPO_ROOT):
    return subprocess.run([sys.executable, CLI, *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120)
