"""The service's limits under load and at start: admission of pixels in flight (503 with
``Retry-After`` when full, a short wait queue, capacity given back after errors), the
resident memory of ``tools/serve_seg.py`` under eight concurrent 2000 x 2000 uploads,
bad limit values, and a port already in use."""
import asyncio
import json
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from PIL import Image

from conftest import subprocess_env
from service_helpers import (encode, exported_toy_student, png_header_only,
                             post_image, segment, val_image_paths)

TILE_PIXELS = 128 * 128  # the toy tiles


@pytest.fixture(scope='module')
def student(tmp_path_factory):
    return exported_toy_student(tmp_path_factory)


@pytest.fixture(scope='module')
def segmenter(student):
    from kd_plugins.service.segmenter import load_segmenter
    return load_segmenter(student['config'], student['checkpoint'], device='cpu')


class GatedSegmenter:
    """The real segmenter, but each forward pass first waits for ``gate``: a request
    stays in flight for as long as the test wants; ``fail`` makes the pass raise."""

    def __init__(self, segmenter):
        self._segmenter = segmenter
        self.gate = threading.Event()
        self.entered = threading.Event()
        self.fail = False

    def __getattr__(self, name):
        return getattr(self._segmenter, name)

    def predict_timed(self, rgb):
        self.entered.set()
        assert self.gate.wait(60), 'the test never opened the gate'
        if self.fail:
            raise RuntimeError('the model failed on purpose')
        return self._segmenter.predict_timed(rgb)


@pytest.fixture
def gated(segmenter):
    return GatedSegmenter(segmenter)


def gated_client(gated, **limits):
    from fastapi.testclient import TestClient

    from kd_plugins.service.app import create_app
    # a model error is answered 500 (as under uvicorn) instead of raised in the test
    return TestClient(create_app(gated, **limits), raise_server_exceptions=False)


def load(client):
    return client.get('/api/info').json()['load']


def wait_until(what, check, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if check():
            return
        time.sleep(0.02)
    raise AssertionError(f'timed out after {timeout} s waiting for {what}')


def test_full_server_answers_503_with_retry_after_from_the_header(gated, student):
    """One tile in the model holds 16,384 of 100,000 pixels; a 300 x 300 header (no
    pixel data at all: admission is decided before decoding) does not fit -> 503."""
    tile = open(val_image_paths(student)[0], 'rb').read()
    with gated_client(gated, max_pixels=100_000, max_pixels_in_flight=100_000,
                      max_wait_s=0) as client:
        info = client.get('/api/info').json()
        assert info['limits']['max_pixels_in_flight'] == 100_000
        assert info['limits']['max_wait_s'] == 0
        with ThreadPoolExecutor(1) as pool:
            first = pool.submit(segment, client, tile)
            assert gated.entered.wait(30)
            assert load(client) == dict(pixels_in_flight=TILE_PIXELS,
                                        requests_in_flight=1, requests_waiting=0)
            res = segment(client, png_header_only(300, 300))
            assert res.status_code == 503, res.text
            assert int(res.headers['retry-after']) >= 1
            detail = res.json()['detail']
            assert detail.startswith('server busy: ')
            assert '300 x 300 = 90000 pixels' in detail
            assert 'max_pixels_in_flight=100000' in detail
            assert f'{TILE_PIXELS} pixels in flight' in detail
            gated.gate.set()
            assert first.result(60).status_code == 200
        assert load(client)['pixels_in_flight'] == 0
        assert segment(client, tile).status_code == 200  # capacity is back


def test_waiting_request_is_served_when_capacity_frees(gated, student):
    """With a wait queue, the request that does not fit waits (FIFO) instead of 503."""
    paths = val_image_paths(student)
    tiles = [open(p, 'rb').read() for p in paths[:2]]
    with gated_client(gated, max_pixels=TILE_PIXELS, max_pixels_in_flight=TILE_PIXELS,
                      max_wait_s=30) as client, ThreadPoolExecutor(2) as pool:
        first = pool.submit(segment, client, tiles[0])
        assert gated.entered.wait(30)
        second = pool.submit(segment, client, tiles[1])
        wait_until('the second request to queue',
                   lambda: load(client)['requests_waiting'] == 1)
        assert load(client)['pixels_in_flight'] == TILE_PIXELS
        gated.gate.set()
        assert first.result(60).status_code == 200
        res = second.result(60)
        assert res.status_code == 200, res.text
        assert load(client) == dict(pixels_in_flight=0, requests_in_flight=0,
                                    requests_waiting=0)


def test_capacity_is_given_back_after_a_bad_image_and_a_model_error(gated, student):
    tile = open(val_image_paths(student)[0], 'rb').read()
    truncated = encode(Image.open(val_image_paths(student)[1]).convert('RGB'))[:3000]
    gated.gate.set()
    with gated_client(gated, max_pixels=TILE_PIXELS, max_pixels_in_flight=TILE_PIXELS,
                      max_wait_s=0) as client:
        res = segment(client, truncated)  # header fine (admitted), pixel data not
        assert res.status_code == 400 and 'could not decode' in res.json()['detail']
        assert load(client)['pixels_in_flight'] == 0
        gated.fail = True
        res = segment(client, tile)
        assert res.status_code == 500 and 'failed on purpose' in res.json()['detail']
        assert load(client)['pixels_in_flight'] == 0
        gated.fail = False
        assert segment(client, tile).status_code == 200  # not refused as "busy"


def test_pixel_budget_keeps_arrival_order_and_forgets_who_gave_up():
    """The queue on its own: a large request is not overtaken by a small one that would
    fit, a cancelled (disconnected) waiter and a timed-out one leave no trace."""
    from kd_plugins.service.app import PixelBudget, ServiceBusy

    async def scenario():
        budget = PixelBudget(100, max_wait_s=30)
        await budget.acquire(60, 'first')
        large = asyncio.ensure_future(budget.acquire(80, 'large'))
        await asyncio.sleep(0)
        small = asyncio.ensure_future(budget.acquire(10, 'small'))  # fits, waits
        gone = asyncio.ensure_future(budget.acquire(5, 'gone'))
        await asyncio.sleep(0)
        assert budget.snapshot() == dict(pixels_in_flight=60, requests_in_flight=1,
                                         requests_waiting=3)
        gone.cancel()
        with pytest.raises(asyncio.CancelledError):
            await gone
        assert budget.snapshot()['requests_waiting'] == 2 and not small.done()
        budget.release(60, 0.5)
        await asyncio.wait_for(asyncio.gather(large, small), 5)
        assert budget.snapshot() == dict(pixels_in_flight=90, requests_in_flight=2,
                                         requests_waiting=0)
        budget.release(80, 1.0)
        budget.release(10, 0.1)
        assert budget.idle and budget.pixels_in_flight == 0

        short = PixelBudget(100, max_wait_s=0.05)
        await short.acquire(100, 'everything')
        with pytest.raises(ServiceBusy) as exc:
            await short.acquire(1, '1 pixel image')
        assert exc.value.retry_after >= 1
        assert 'this 1 pixel image did not fit waiting 0.05 s (max_wait_s)' in \
            exc.value.message
        assert short.snapshot() == dict(pixels_in_flight=100, requests_in_flight=1,
                                        requests_waiting=0)
        short.release(100)
        assert short.idle

    asyncio.run(scenario())


def test_bad_limits_are_refused_naming_the_value(segmenter, capsys):
    from kd_plugins.service import cli
    from kd_plugins.service.app import create_app
    with pytest.raises(ValueError, match=r'max_pixels_in_flight=0 must be positive'):
        create_app(segmenter, max_pixels_in_flight=0)
    with pytest.raises(ValueError, match=r'max_pixels_in_flight=1000 is below '
                       r'max_pixels=4000: an image of max_pixels could never'):
        create_app(segmenter, max_pixels=4000, max_pixels_in_flight=1000)
    with pytest.raises(ValueError, match=r'max_wait_s=-1 must be 0 or more'):
        create_app(segmenter, max_wait_s=-1)
    with pytest.raises(ValueError, match=r"max_pixels=200000000 is above Pillow's "
                       r'decompression-bomb limit of 178956970'):
        create_app(segmenter, max_pixels=200_000_000)
    # the default admits two images of the largest size at once
    from fastapi.testclient import TestClient
    with TestClient(create_app(segmenter, max_pixels=5000)) as client:
        assert client.get('/api/info').json()['limits']['max_pixels_in_flight'] == 10000
    required = ['--config', 'c.py', '--checkpoint', 'c.pth']
    for argv, message in (
            (['--max-pixels-in-flight', '0'],
             '--max-pixels-in-flight 0 must be positive'),
            (['--max-pixels', '4000', '--max-pixels-in-flight', '1000'],
             '--max-pixels-in-flight 1000 is below --max-pixels 4000'),
            (['--max-wait-s', '-2'], '--max-wait-s -2.0 must be 0 or more')):
        with pytest.raises(SystemExit) as exc:
            cli.parse_args(required + argv)
        assert exc.value.code == 2
        assert message in capsys.readouterr().err
    args = cli.parse_args(required + ['--max-pixels', '1000'])
    assert args.max_pixels_in_flight == 2000  # derived from --max-pixels


def test_report_names_the_admission_limits(segmenter):
    from kd_plugins.service.cli import model_report
    report = model_report(segmenter, 1000, 4_000_000, max_pixels_in_flight=8_000_000,
                          max_wait_s=10.0)
    assert ('limits     1,000 bytes per upload, 4,000,000 pixels per image, 8,000,000 '
            'pixels in flight (503 after waiting 10 s)') in report


def test_port_in_use_fails_before_serving(student, capsys):
    """Nothing is announced as served, the message names the address, exit status 1,
    and the model is not even loaded first (the port is taken before it)."""
    from kd_plugins.service import cli
    with socket.socket() as taken:
        taken.bind(('127.0.0.1', 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        start = time.perf_counter()
        with pytest.raises(SystemExit) as exc:
            cli.main(['--config', student['config'], '--checkpoint',
                      student['checkpoint'], '--port', str(port)])
        seconds = time.perf_counter() - start
    out, err = capsys.readouterr()
    assert exc.value.code == 1, out + err
    assert 'serving' not in out + err
    assert 'model ' not in out  # no start-up report either
    assert (f'serve_seg: error: cannot listen on 127.0.0.1:{port}: address already in '
            'use (another server listens there; choose another --port)') in err
    assert seconds < 5, f'{seconds:.1f} s: the model was loaded before the port check'


class RssSampler(threading.Thread):
    """The largest ``VmRSS`` of ``pid`` seen every ``every`` seconds until stopped."""

    def __init__(self, pid, every=0.05):
        super().__init__(daemon=True)
        from kd_plugins.service.client import rss_mb
        self.pid, self.every, self.rss_mb = pid, every, rss_mb
        self.peak = rss_mb(pid)
        self._stop_event = threading.Event()

    def run(self):
        while not self._stop_event.is_set():
            self.peak = max(self.peak, self.rss_mb(self.pid))
            time.sleep(self.every)

    def stop(self):
        self._stop_event.set()
        self.join()
        return self.peak


LARGE = 2000
# Bounds on the resident memory, in bytes per pixel of --max-pixels-in-flight. Outside
# the model a request holds about 10-20 B/px at its peak (decoded RGB, mask, overlay,
# PNGs, base64 and JSON of the answer; measured in-process for a 2000 x 2000 tile): the
# burst may add PEAK_B_PER_PX (3x that, for allocator slack) to what one 2000 x 2000
# request alone costs, the model's activations included (one forward pass at a time);
# once all is answered RSS must be back within AFTER_B_PER_PX of where it started.
PEAK_B_PER_PX = 64
AFTER_B_PER_PX = 16
DEFAULT_IN_FLIGHT = 2 * 2048 * 2048  # two images of the default --max-pixels


@pytest.mark.slow
def test_eight_concurrent_large_uploads_keep_memory_bounded(student, tmp_path):
    """Eight 2000 x 2000 uploads at once against ``tools/serve_seg.py`` with the default
    limits (two such images in flight, up to 10 s of waiting for the rest): each is
    answered 200 or 503 with Retry-After, the peak RSS stays within one large request's
    peak plus the admitted pixels' share, and the memory is given back afterwards."""
    from kd_plugins.service.client import ServerProcess, SegmentClient, rss_mb
    tile = Image.open(val_image_paths(student)[0]).convert('RGB')
    large = encode(tile.resize((LARGE, LARGE), Image.BILINEAR))
    server = ServerProcess(student['config'], student['checkpoint'],
                           log_path=str(tmp_path / 'server.log'),
                           env=subprocess_env())
    try:
        server.wait_ready()
        client = SegmentClient(server.url)
        status, info = client.get_json('/api/info')
        assert status == 200
        in_flight = info['limits'].get('max_pixels_in_flight')
        status, _, _ = client.segment(encode(tile))  # warm, as a served model is
        assert status == 200
        before = rss_mb(server.pid)
        sampler = RssSampler(server.pid)
        sampler.start()
        status, _, _ = client.segment(large)  # one alone: what its forward pass costs
        assert status == 200
        single = sampler.stop() - before
        before = rss_mb(server.pid)
        sampler = RssSampler(server.pid)
        sampler.start()
        barrier = threading.Barrier(8)

        def one(_):
            barrier.wait()
            return post_image(server.url, large)

        start = time.perf_counter()
        with ThreadPoolExecutor(8) as pool:
            results = list(pool.map(one, range(8)))
        seconds = time.perf_counter() - start
        peak = sampler.stop()
        time.sleep(0.5)  # the last answer's buffers are freed once it is sent
        after = rss_mb(server.pid)
        statuses = [status for status, _, _ in results]
        print(f'\nserve_seg RSS, 8 concurrent {LARGE} x {LARGE} uploads '
              f'(max_pixels_in_flight={in_flight}): before {before:.0f} MiB, peak '
              f'{peak:.0f} MiB, after {after:.0f} MiB (one such upload alone: peak '
              f'+{single:.0f} MiB); answers {statuses} in {seconds:.1f} s')
        assert set(statuses) <= {200, 503} and 200 in statuses, statuses
        for status, headers, body in results:
            if status == 200:
                answer = json.loads(body)
                assert (answer['width'], answer['height']) == (LARGE, LARGE)
            else:
                assert int(headers['retry-after']) >= 1
                detail = json.loads(body)['detail']
                assert 'waiting 10 s (max_wait_s)' in detail
                assert f'max_pixels_in_flight={in_flight}' in detail
        assert peak - before < single + DEFAULT_IN_FLIGHT * PEAK_B_PER_PX / 2**20, \
            (before, single, peak)
        assert after - before < DEFAULT_IN_FLIGHT * AFTER_B_PER_PX / 2**20, \
            (before, after)
        assert in_flight == DEFAULT_IN_FLIGHT
        status, info = client.get_json('/api/info')
        assert info['load'] == dict(pixels_in_flight=0, requests_in_flight=0,
                                    requests_waiting=0)
        client.close()
    finally:
        server.stop()
