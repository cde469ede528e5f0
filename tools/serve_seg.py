"""Serve a trained mmseg segmentation model: web page + JSON API (FastAPI, uvicorn).

    python tools/serve_seg.py --config DIR/student.py --checkpoint DIR/student.pth \
        [--device cpu|cuda] [--host 127.0.0.1] [--port 8000] [--max-upload-mb 20] \
        [--max-pixels 4194304] [--max-pixels-in-flight 8388608] [--max-wait-s 10]

``DIR`` is what ``tools/export_student.py`` writes. Everything is in
:mod:`kd_plugins.service.cli` (also installed as the ``kd-serve-seg`` command).
"""
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from _common import ensure_importable  # noqa: E402


def main(argv=None):
    ensure_importable()
    from kd_plugins.service.cli import main as serve
    serve(argv)


if __name__ == '__main__':
    main()
