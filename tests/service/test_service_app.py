"""The segmentation web service on a real exported toy student: the API in-process
(FastAPI's TestClient), bad uploads, odd image sizes, 16 concurrent requests against
``tools/serve_seg.py`` under uvicorn, and start-up failures."""
import base64
import io
import json
import os.path as osp
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from PIL import Image

from conftest import CWD_CFG, ROOT, subprocess_env
from service_helpers import (SERVE, encode, exported_toy_student, png_array,
                             png_header_only, post_image, segment, shared_server,
                             stop_shared_server, val_image_paths)

CLASSES = ['background', 'cell', 'gland', 'vessel']
MAX_UPLOAD = 100_000   # bytes: small, so that a few hundred KB are over it
MAX_PIXELS = 1_000_000


@pytest.fixture(scope='session')
def student(tmp_path_factory):
    return exported_toy_student(tmp_path_factory)


@pytest.fixture(scope='session')
def server(request, tmp_path_factory):
    request.addfinalizer(stop_shared_server)
    return shared_server(tmp_path_factory)


@pytest.fixture(scope='module')
def segmenter(student):
    from kd_plugins.service.segmenter import load_segmenter
    return load_segmenter(student['config'], student['checkpoint'], device='cpu')


@pytest.fixture(scope='module')
def client(segmenter):
    from fastapi.testclient import TestClient

    from kd_plugins.service.app import create_app
    app = create_app(segmenter, max_upload_bytes=MAX_UPLOAD, max_pixels=MAX_PIXELS)
    with TestClient(app) as c:
        yield c


def noise(width, height, seed=0):
    rng = np.random.RandomState(seed)
    return Image.fromarray(rng.randint(0, 256, (height, width, 3), np.uint8))


def good_request_works(client, student):
    data = open(val_image_paths(student)[0], 'rb').read()
    res = segment(client, data)
    assert res.status_code == 200, res.text
    assert res.json()['width'] == 128


def test_health_and_info_report_model_and_classes(client, segmenter):
    health = client.get('/api/health').json()
    assert health['status'] == 'ok'
    assert health['classes'] == CLASSES
    assert health['palette'] == [[0, 0, 0], [255, 0, 0], [0, 255, 0], [0, 0, 255]]
    model = health['model']
    assert (model['type'], model['backbone'], model['decode_head']) == \
        ('EncoderDecoder', 'UNet', 'FCNHead')
    assert model['num_params'] == sum(p.numel() for p in segmenter.model.parameters())
    assert model['size_divisor'] == 8  # UNet, three downsamples
    assert osp.basename(model['checkpoint']) == 'student.pth'
    info = client.get('/api/info').json()
    assert info['limits'] == dict(max_upload_bytes=MAX_UPLOAD, max_pixels=MAX_PIXELS,
                                  max_pixels_in_flight=2 * MAX_PIXELS, max_wait_s=10.0)
    assert info['load'] == dict(pixels_in_flight=0, requests_in_flight=0,
                                requests_waiting=0)
    assert info['classes'] == CLASSES
    page = client.get('/')
    assert page.status_code == 200 and 'text/html' in page.headers['content-type']
    for element in ('id="file"', 'id="image"', 'id="colours"', 'id="opacity"',
                    'id="latency"', 'id="legend"', 'id="download"',
                    'download="mask.png"'):
        assert element in page.text
    assert 'http://' not in page.text and 'https://' not in page.text  # offline page


def test_json_mask_equals_mmseg_inference(client, student):
    from mmengine.registry import DefaultScope
    from mmseg.apis import inference_model, init_model
    path = val_image_paths(student)[0]
    with DefaultScope.overwrite_default_scope('mmseg'):
        model = init_model(student['config'], student['checkpoint'], device='cpu')
        expected = inference_model(model, path).pred_sem_seg.data[0].numpy()
    res = segment(client, open(path, 'rb').read())
    assert res.status_code == 200, res.text
    body = res.json()
    assert (body['width'], body['height']) == (128, 128)
    assert body['classes'] == CLASSES
    mask = png_array(base64.b64decode(body['mask_png']))
    assert mask.shape == (128, 128) and mask.dtype == np.uint8
    np.testing.assert_array_equal(mask, expected)
    assert len(np.unique(mask)) > 1  # a real prediction, not a constant
    counts = np.bincount(mask.ravel(), minlength=3)
    assert body['pixel_counts'] == dict(zip(CLASSES, counts.tolist()))
    overlay = png_array(base64.b64decode(body['overlay_png']))
    assert overlay.shape == (128, 128, 3)
    # the page's two views: the image as decoded, the mask in the class colours
    rgb = np.asarray(Image.open(path).convert('RGB'))
    np.testing.assert_array_equal(png_array(base64.b64decode(body['image_png'])), rgb)
    with Image.open(io.BytesIO(base64.b64decode(body['colour_png']))) as colour:
        assert colour.mode == 'P'  # as small as the mask
        np.testing.assert_array_equal(np.asarray(colour), mask)
        np.testing.assert_array_equal(np.asarray(colour.convert('RGB')),
                                      np.asarray(body['palette'], np.uint8)[mask])
    assert body['latency_ms'] >= body['inference_ms'] > 0


def test_png_format_returns_the_mask(client, student, segmenter):
    path = val_image_paths(student)[1]
    res = segment(client, open(path, 'rb').read(), fmt='png')
    assert res.status_code == 200
    assert res.headers['content-type'] == 'image/png'
    assert float(res.headers['x-latency-ms']) > 0
    mask = png_array(res.content)
    rgb = np.asarray(Image.open(path).convert('RGB'))
    np.testing.assert_array_equal(mask, segmenter.predict(rgb))


@pytest.mark.parametrize('width,height', [(100, 75), (37, 129), (1, 1), (203, 8)])
def test_any_image_size_is_padded_and_cropped_back(client, student, segmenter, width,
                                                   height):
    tile = Image.open(val_image_paths(student)[2]).convert('RGB')
    image = tile.resize((width, height), Image.BILINEAR)
    res = segment(client, encode(image), fmt='png')
    assert res.status_code == 200, res.text
    mask = png_array(res.content)
    assert mask.shape == (height, width)
    assert mask.max() < len(CLASSES)
    np.testing.assert_array_equal(mask, segmenter.predict(np.asarray(image)))


@pytest.mark.parametrize('mode,fmt', [
    ('RGBA', 'PNG'), ('L', 'PNG'), ('LA', 'PNG'), ('P', 'PNG'), ('1', 'PNG'),
    ('RGB', 'JPEG'), ('L', 'JPEG'), ('RGB', 'TIFF'), ('RGBA', 'TIFF')])
def test_accepted_modes_are_converted_to_rgb(client, student, segmenter, mode, fmt):
    tile = Image.open(val_image_paths(student)[3]).convert('RGB')
    data = encode(tile.convert(mode), fmt)
    res = segment(client, data, fmt='png', name=f'x.{fmt.lower()}')
    assert res.status_code == 200, res.text
    decoded = np.asarray(Image.open(io.BytesIO(data)).convert('RGB'))
    np.testing.assert_array_equal(png_array(res.content), segmenter.predict(decoded))


BAD_UPLOADS = {
    'text file': (lambda: b'this is not an image\n' * 20, 415, 'not a PNG, JPEG or TIFF'),
    'empty file': (lambda: b'', 400, 'empty file'),
    'GIF': (lambda: encode(noise(20, 20).convert('P'), 'GIF'), 415, 'GIF images'),
    '16-bit PNG': (lambda: encode(Image.new('I;16', (40, 30), 1000)), 415,
                   "mode 'I;16'"),
    'CMYK JPEG': (lambda: encode(Image.new('CMYK', (40, 30)), 'JPEG'), 415,
                  "mode 'CMYK'"),
    'CMYK TIFF': (lambda: encode(Image.new('CMYK', (40, 30)), 'TIFF'), 415,
                  "mode 'CMYK'"),
    'float TIFF': (lambda: encode(Image.new('F', (40, 30)), 'TIFF'), 415, "mode 'F'"),
    'truncated PNG': (lambda: encode(noise(64, 64))[:3000], 400, 'could not decode'),
    'over the upload limit': (lambda: encode(noise(190, 190)), 413, 'upload too large'),
    'far over the limit (Content-Length)': (lambda: encode(noise(400, 400)), 413,
                                            'upload too large'),
    'over max_pixels': (lambda: png_header_only(1200, 1000), 413,
                        '1200000 pixels, the limit is 1000000'),
    # over Pillow's own limit too: the answer still quotes the configured one
    'decompression bomb': (lambda: png_header_only(40000, 40000), 413,
                           'image too large: 1600000000 pixels, the limit is 1000000'),
}


@pytest.mark.parametrize('case', list(BAD_UPLOADS))
def test_bad_upload_gets_4xx_and_the_server_keeps_serving(client, student, case):
    make, status, message = BAD_UPLOADS[case]
    data = make()
    if case == 'over the upload limit':  # the handler's check, under the body slack
        assert MAX_UPLOAD < len(data) < MAX_UPLOAD + 64 * 1024
    res = segment(client, data)
    assert res.status_code == status, res.text
    assert res.headers['content-type'] == 'application/json'
    assert message in res.json()['detail']
    good_request_works(client, student)


def test_chunked_upload_over_the_limit_is_cut_off(client, student):
    data = encode(noise(400, 400))
    boundary = 'b0undary'
    body = (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
            'filename="big.png"\r\n\r\n').encode() + data + \
        f'\r\n--{boundary}--\r\n'.encode()

    def chunks():  # no Content-Length: the size is only known while it streams
        for i in range(0, len(body), 16384):
            yield body[i:i + 16384]

    content_type = f'multipart/form-data; boundary={boundary}'
    res = client.post('/api/segment', content=chunks(),
                      headers={'Content-Type': content_type})
    assert res.status_code == 413, res.text
    assert 'upload too large' in res.json()['detail']
    good_request_works(client, student)


def test_missing_field_and_bad_format_are_4xx(client, student):
    assert client.post('/api/segment').status_code == 422
    data = open(val_image_paths(student)[0], 'rb').read()
    assert segment(client, data, fmt='gif').status_code == 422
    good_request_works(client, student)


@pytest.mark.slow
def test_sixteen_concurrent_requests_on_uvicorn(server, student):
    paths = val_image_paths(student)
    tile = Image.open(paths[0]).convert('RGB')
    uploads = [open(p, 'rb').read() for p in paths] + \
        [encode(tile.resize((100, 75))), encode(tile.resize((61, 140)), 'JPEG')]
    expected = []
    for data in uploads:  # one at a time first: the answers to match
        status, _, body = post_image(server.url, data, fmt='png')
        assert status == 200, body
        expected.append(png_array(body))

    def one(i):
        k = i % len(uploads)
        fmt = 'png' if i % 2 else 'json'
        status, _, body = post_image(server.url, uploads[k], fmt=fmt)
        if status == 200 and fmt == 'json':
            body = base64.b64decode(json.loads(body)['mask_png'])
        return k, status, body

    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(one, range(16)))
    assert [status for _, status, _ in results] == [200] * 16
    for k, _, body in results:
        np.testing.assert_array_equal(png_array(body), expected[k])
    log = server.log()  # the start-up report: model, parameters, classes
    assert 'EncoderDecoder (UNet + FCNHead)' in log and 'parameters' in log
    assert 'vessel' in log and 'student.pth' in log


def test_missing_checkpoint_stops_the_server_naming_the_file(student, tmp_path):
    missing = str(tmp_path / 'no_such_student.pth')
    res = subprocess.run(
        [sys.executable, SERVE, '--config', student['config'], '--checkpoint', missing,
         '--port', '1'], cwd=ROOT, env=subprocess_env(), capture_output=True,
        text=True, timeout=120)
    assert res.returncode != 0
    assert f"checkpoint file '{missing}' not found" in res.stderr


def test_missing_config_and_distillation_config_are_refused(student, tmp_path, capsys):
    from kd_plugins.service import cli
    from kd_plugins.service.segmenter import ModelLoadError, load_segmenter
    missing = str(tmp_path / 'nope.py')
    with pytest.raises(SystemExit) as exc:
        cli.main(['--config', missing, '--checkpoint', student['checkpoint']])
    assert exc.value.code == 1
    assert f"config file '{missing}' not found" in capsys.readouterr().err
    with pytest.raises(ModelLoadError, match='distillation config; export its student'):
        load_segmenter(CWD_CFG, student['checkpoint'])
