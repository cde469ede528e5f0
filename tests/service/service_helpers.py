"""Shared by the service tests: one exported toy student and one running
``tools/serve_seg.py`` per session (both test modules use them; the first to ask makes
them)."""
import atexit
import io
import os
import os.path as osp
import struct
import zlib

import numpy as np

from conftest import ROOT, subprocess_env

SERVE = osp.join(ROOT, 'tools', 'serve_seg.py')
_SHARED = {}


def exported_toy_student(tmp_path_factory):
    """``make_toy_student`` once per session: 2 iterations of unet-c12, exported
    (``KD_TOY_STUDENT_ITERS=N`` trains N, e.g. for a screenshot of a model that has
    learned something)."""
    given = os.environ.get('KD_SERVE_STUDENT')  # an export folder (the screenshot's)
    if 'student' not in _SHARED and given:
        data = os.environ.get('KD_SERVE_DATA')
        assert data, 'KD_SERVE_STUDENT needs KD_SERVE_DATA (toy data with img_dir/val)'
        given = osp.abspath(given)
        _SHARED['student'] = dict(config=osp.join(given, 'student.py'),
                                  checkpoint=osp.join(given, 'student.pth'),
                                  data_root=osp.abspath(data))
    if 'student' not in _SHARED:
        from kd_plugins.service.toy_student import make_toy_student
        out = tmp_path_factory.mktemp('toy_student')
        iters = int(os.environ.get('KD_TOY_STUDENT_ITERS', '2'))
        _SHARED['student'] = make_toy_student(str(out), iters=iters,
                                              env=subprocess_env())
    return _SHARED['student']


def val_image_paths(student):
    folder = osp.join(student['data_root'], 'img_dir', 'val')
    return [osp.join(folder, name) for name in sorted(os.listdir(folder))]


def shared_server(tmp_path_factory):
    """One server on the exported toy student for the session; a session fixture
    calling this adds :func:`stop_shared_server` as its finalizer."""
    from kd_plugins.service.client import ServerProcess
    if 'server' not in _SHARED:
        student = exported_toy_student(tmp_path_factory)
        log = str(tmp_path_factory.mktemp('serve_seg') / 'server.log')
        server = ServerProcess(student['config'], student['checkpoint'], log_path=log,
                               env=subprocess_env())
        atexit.register(server.stop)  # whatever happens to the session
        try:
            server.wait_ready()
        except Exception:
            server.stop()
            raise
        _SHARED['server'] = server
    return _SHARED['server']


def stop_shared_server():
    server = _SHARED.pop('server', None)
    if server is not None:
        server.stop()


def post_image(url, data, fmt='json', filename='image.png'):
    """POST ``data`` as the upload field ``file`` on a fresh connection;
    ``(status, headers, body bytes)``."""
    from kd_plugins.service.client import SegmentClient
    client = SegmentClient(url)
    try:
        return client.segment(data, fmt=fmt, filename=filename)
    finally:
        client.close()


def png_array(data):
    from PIL import Image
    image = Image.open(io.BytesIO(data))
    assert image.format == 'PNG'
    return np.asarray(image)


def encode(image, fmt='PNG', **kwargs):
    """The bytes of a PIL ``image`` saved as ``fmt``."""
    buf = io.BytesIO()
    image.save(buf, format=fmt, **kwargs)
    return buf.getvalue()


def png_header_only(width, height):
    """A valid PNG signature + IHDR claiming ``width x height``, no pixel data."""
    def chunk(tag, payload):
        crc = zlib.crc32(tag + payload) & 0xffffffff
        return struct.pack('>I', len(payload)) + tag + payload + struct.pack('>I', crc)
    ihdr = struct.pack('>IIBBBBB', width, height, 8, 2, 0, 0, 0)
    return (b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', ihdr) +
            chunk(b'IDAT', zlib.compress(b'')) + chunk(b'IEND', b''))


def segment(client, data, fmt='json', name='x.png'):
    """POST ``data`` to ``/api/segment`` through a FastAPI ``TestClient``."""
    return client.post(f'/api/segment?format={fmt}',
                       files={'file': (name, data, 'application/octet-stream')})
