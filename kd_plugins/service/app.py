"""The segmentation web app: one loaded model behind a small HTTP API and an HTML page.

``create_app(segmenter, ...)`` returns a FastAPI application and starts nothing; serve it
with uvicorn (``tools/serve_seg.py``) or test it with FastAPI's ``TestClient``.

Endpoints:

- ``GET /``: the page (plain HTML + inline JS, no external resources): pick a PNG / JPEG
  / TIFF file, see the mask over the image, the latency, a class legend and a link that
  downloads the mask PNG.
- ``POST /api/segment`` (multipart, field ``file``): JSON with the image size, the
  classes and palette, the pixel count per class, ``latency_ms`` (server time from the
  received upload to the encoded answer, waiting for admission and the model included),
  ``inference_ms`` (the forward pass alone) and, as base64 PNGs, the mask, the image
  (as decoded), the mask in the class colours and the overlay (both blended).
  ``?format=png`` answers the mask PNG itself (8-bit, pixel value = class index; the
  latencies are in the ``X-Latency-Ms`` / ``X-Inference-Ms`` headers).
- ``GET /api/health``: ``status: ok`` with the model and its classes and palette.
- ``GET /api/info``: the same plus the limits, the accepted formats / modes and the
  ``load`` now (pixels and requests in flight, requests waiting).

A refused upload is answered with a 4xx status and ``{"detail": "<why>"}`` (the table in
:mod:`kd_plugins.service.images`); an upload over ``max_upload_bytes`` gets 413, and one
whose request body is declared or found bigger than the limit (plus room for the
multipart headers) is cut off while it arrives.

Memory under load (admission control). What a request holds grows with its pixels: the
decoded RGB image, the model's input tensors and activations (the bulk: about 1.4 GiB
for a 2000 x 2000 image through the toy UNet student, but one forward pass at a time),
the mask, the overlay (blended in bands of rows) and the encoded PNGs with their base64
and JSON copies (10-20 bytes per pixel at the peak). Unchecked, every concurrent upload
added its decoded image and overlay and the freed memory stayed with the process. So
each upload is admitted by its width x height, read from the image header before any
pixel is decoded (:class:`PixelBudget`): at most
``max_pixels_in_flight`` pixels (default two images of ``max_pixels``) are decoded,
segmented and encoded at once. An upload that does not fit waits, in arrival order, up
to ``max_wait_s`` seconds (its bytes stay in the spooled upload file meanwhile), then is
answered 503 with a ``Retry-After`` header and a ``detail`` naming the limit; the pixels
are given back in a ``finally``, whatever happened to the request. When the last large
request leaves, freed heap memory is handed back to the system (``malloc_trim``; glibc
otherwise keeps it in its per-thread arenas). The model runs in a worker thread, one
forward pass at a time (the segmenter's lock), so the event loop keeps answering
meanwhile.
"""
import asyncio
import base64
import collections
import ctypes
import html
import math
import os.path as osp
import time

from .images import (ACCEPTED_FORMATS, CONVERTED_MODES, DEFAULT_MAX_PIXELS,
                     ImageRejected, check_max_pixels, decode_image, encode_palette_png,
                     encode_png, probe_image)

DEFAULT_MAX_UPLOAD_BYTES = 20 * 1024 * 1024
DEFAULT_MAX_WAIT_S = 10.0
MULTIPART_SLACK_BYTES = 64 * 1024  # boundaries and part headers around the file
SEGMENT_PATH = '/api/segment'
STATIC_DIR = osp.join(osp.dirname(osp.abspath(__file__)), 'static')
# Retry-After before any request has been timed: ~1 s per megapixel (2 CPU cores)
PRIOR_SECONDS_PER_PIXEL = 1e-6
RETRY_AFTER_MAX_S = 300
TRIM_MIN_PIXELS = 1024 * 1024  # trim the heap after requests at least this large


def default_pixels_in_flight(max_pixels):
    """Two images of the largest size at once: one in the model while the other is
    decoded or encoded (the model runs one image at a time anyway)."""
    return 2 * int(max_pixels)


def _too_large(limit):
    size = f'{limit / 2**20:.1f} MiB' if limit >= 2**20 else f'{limit / 1024:.1f} KiB'
    return f'upload too large: the limit is {limit} bytes ({size})'


class UploadSizeGuard:
    """ASGI middleware: refuse a segment request whose body exceeds ``body_limit``.

    A declared ``Content-Length`` over the limit is answered 413 before the body is
    read; a body that grows past the limit while it streams in (chunked uploads) is cut
    off with the same 413, raised from ``receive`` inside the request handler.
    """

    def __init__(self, app, body_limit, file_limit, path=SEGMENT_PATH):
        self.app = app
        self.body_limit = int(body_limit)
        self.file_limit = int(file_limit)
        self.path = path

    async def __call__(self, scope, receive, send):
        if scope['type'] != 'http' or scope['path'] != self.path:
            await self.app(scope, receive, send)
            return
        from fastapi import HTTPException
        from fastapi.responses import JSONResponse
        declared = dict(scope.get('headers') or ()).get(b'content-length')
        if declared is not None and declared.isdigit() and \
                int(declared) > self.body_limit:
            response = JSONResponse({'detail': _too_large(self.file_limit)},
                                    status_code=413)
            await response(scope, receive, send)
            return
        seen = 0

        async def counting_receive():
            nonlocal seen
            message = await receive()
            if message['type'] == 'http.request':
                seen += len(message.get('body', b''))
                if seen > self.body_limit:
                    raise HTTPException(413, _too_large(self.file_limit))
            return message

        await self.app(scope, counting_receive, send)


class ServiceBusy(Exception):
    """No room for an upload within the wait allowed: 503, retry after ``retry_after``
    seconds."""

    def __init__(self, message, retry_after):
        super().__init__(message)
        self.message = message
        self.retry_after = int(retry_after)


class PixelBudget:
    """Admission control: the pixels of the uploads being decoded, segmented and encoded
    at once stay within ``capacity``.

    :meth:`acquire` admits an upload of ``pixels`` at once when it fits and nobody is
    waiting; otherwise it waits in arrival order (a large image is not overtaken for
    ever by small ones) up to ``max_wait_s`` seconds, then raises :class:`ServiceBusy`.
    :meth:`release` gives the pixels back (call it in a ``finally``) with the seconds the
    request took; those time the ``Retry-After`` estimate (seconds per pixel, recent
    requests weighted up). Used from the event loop only, so it needs no lock.
    """

    DECAY = 0.8  # weight of the older requests in the seconds-per-pixel estimate

    def __init__(self, capacity, max_wait_s=DEFAULT_MAX_WAIT_S):
        self.capacity = int(capacity)
        self.max_wait_s = float(max_wait_s)
        self.pixels_in_flight = 0
        self.requests_in_flight = 0
        self._waiting = collections.deque()  # (pixels, future) in arrival order
        self._timed_seconds = 0.0
        self._timed_pixels = 0.0

    def snapshot(self):
        return dict(pixels_in_flight=self.pixels_in_flight,
                    requests_in_flight=self.requests_in_flight,
                    requests_waiting=len(self._waiting))

    def _take(self, pixels):
        self.pixels_in_flight += pixels
        self.requests_in_flight += 1

    def _wake(self):
        while self._waiting:
            pixels, future = self._waiting[0]
            if future.done():  # gave up waiting (timed out or cancelled)
                self._waiting.popleft()
                continue
            if self.pixels_in_flight + pixels > self.capacity:
                return
            self._waiting.popleft()
            self._take(pixels)
            future.set_result(None)

    def retry_after(self):
        """Seconds until the work admitted and queued now is likely done (1 at least)."""
        spp = self._timed_seconds / self._timed_pixels if self._timed_pixels else \
            PRIOR_SECONDS_PER_PIXEL
        queued = sum(pixels for pixels, _ in self._waiting)
        seconds = (self.pixels_in_flight + queued) * spp
        return int(min(max(math.ceil(seconds), 1), RETRY_AFTER_MAX_S))

    async def acquire(self, pixels, what):
        """Admit ``pixels`` (``what``: the image, for the 503 message), waiting if need
        be; :class:`ServiceBusy` when it does not fit within ``max_wait_s``."""
        if pixels > self.capacity:  # create_app keeps max_pixels within capacity
            raise ValueError(f'{pixels} pixels can never fit in {self.capacity}')
        if not self._waiting and self.pixels_in_flight + pixels <= self.capacity:
            self._take(pixels)
            return
        if self.max_wait_s > 0:
            future = asyncio.get_running_loop().create_future()
            entry = (pixels, future)
            self._waiting.append(entry)
            granted = False
            try:
                await asyncio.wait_for(future, self.max_wait_s)
                granted = True
                return
            except asyncio.TimeoutError:
                pass
            finally:
                if not granted:
                    if future.done() and not future.cancelled():
                        self.release(pixels)  # admitted just as it gave up
                    else:
                        future.cancel()
                        if entry in self._waiting:
                            self._waiting.remove(entry)
                        self._wake()  # those behind it may fit now
        waited = (f'waiting {self.max_wait_s:g} s (max_wait_s)' if self.max_wait_s > 0
                  else 'without waiting (max_wait_s=0)')
        retry = self.retry_after()
        raise ServiceBusy(
            f'server busy: this {what} did not fit {waited}; '
            f'{self.pixels_in_flight} pixels in flight, {len(self._waiting)} requests '
            f'waiting, max_pixels_in_flight={self.capacity}; retry after {retry} s',
            retry)

    def release(self, pixels, seconds=None):
        self.pixels_in_flight -= pixels
        self.requests_in_flight -= 1
        if seconds is not None:
            self._timed_seconds = self._timed_seconds * self.DECAY + float(seconds)
            self._timed_pixels = self._timed_pixels * self.DECAY + float(pixels)
        self._wake()

    @property
    def idle(self):
        return self.requests_in_flight == 0 and not self._waiting


_MALLOC_TRIM = None  # glibc's malloc_trim, once looked up (False: there is none)


def trim_heap():
    """Hand the heap memory freed by finished requests back to the system.

    glibc keeps freed memory in its arenas (one per thread that allocated, up to 8 per
    core) for reuse, so after a burst of large requests the server's resident memory
    stays near its peak; ``malloc_trim(0)`` releases the free pages of every arena.
    Returns False where there is no glibc ``malloc_trim`` (musl, macOS): nothing to do.
    """
    global _MALLOC_TRIM
    if _MALLOC_TRIM is None:
        try:
            _MALLOC_TRIM = ctypes.CDLL(None).malloc_trim
            _MALLOC_TRIM.argtypes, _MALLOC_TRIM.restype = [ctypes.c_size_t], ctypes.c_int
        except (OSError, AttributeError):
            _MALLOC_TRIM = False
    if not _MALLOC_TRIM:
        return False
    _MALLOC_TRIM(0)
    return True


PNG_KEYS = ('mask_png', 'image_png', 'colour_png', 'overlay_png')  # base64 in the JSON


def read_index_html():
    with open(osp.join(STATIC_DIR, 'index.html'), encoding='utf-8') as f:
        return f.read()


def segment_upload(segmenter, source, max_pixels, with_images=True, received=None):
    """Decode, segment and encode one upload (its bytes or a seekable binary file);
    :class:`ImageRejected` for a bad one. ``received`` (a ``time.perf_counter()``
    value) starts ``latency_ms``; by default it starts here."""
    start = time.perf_counter() if received is None else received
    rgb, details = decode_image(source, max_pixels=max_pixels)
    mask, inference_ms = segmenter.predict_timed(rgb)
    mask_png = encode_png(mask)
    result = dict(
        width=details['width'], height=details['height'],
        input=dict(format=details['format'], mode=details['mode'],
                   bytes=details['bytes']),
        classes=list(segmenter.classes), palette=[list(c) for c in segmenter.palette],
        pixel_counts=segmenter.pixel_counts(mask), mask=mask, mask_png=mask_png)
    if with_images:  # the page shows the image and the colour mask over it
        result['image_png'] = encode_png(rgb)
        result['colour_png'] = encode_palette_png(mask, segmenter.palette)
        overlay = segmenter.overlay(rgb, mask)
        del rgb
        result['overlay_png'] = encode_png(overlay)
    result['inference_ms'] = round(inference_ms, 2)
    result['latency_ms'] = round((time.perf_counter() - start) * 1000.0, 2)
    return result


def render_answer(result, as_png):
    """The HTTP response of :func:`segment_upload`'s result: the mask PNG, or JSON with
    the PNGs in base64 (built here, in the worker thread, while the request still holds
    its pixels: the base64 and JSON copies count too)."""
    from fastapi.responses import JSONResponse, Response
    if as_png:
        headers = {'X-Latency-Ms': str(result['latency_ms']),
                   'X-Inference-Ms': str(result['inference_ms']),
                   'Content-Disposition': 'inline; filename="mask.png"'}
        return Response(result['mask_png'], media_type='image/png', headers=headers)
    result.pop('mask')
    for key in PNG_KEYS:
        result[key] = base64.b64encode(result[key]).decode('ascii')
    return JSONResponse(result)


def answer_upload(segmenter, source, max_pixels, as_png, received=None):
    """:func:`segment_upload` then :func:`render_answer`: the whole work of a request,
    in one call to a worker thread."""
    result = segment_upload(segmenter, source, max_pixels, not as_png, received)
    return render_answer(result, as_png)


def create_app(segmenter, max_upload_bytes=DEFAULT_MAX_UPLOAD_BYTES,
               max_pixels=DEFAULT_MAX_PIXELS, max_pixels_in_flight=None,
               max_wait_s=DEFAULT_MAX_WAIT_S, title='kd_plugins segmentation'):
    """The FastAPI app serving ``segmenter`` (a :class:`~.segmenter.Segmenter`).

    Args:
        segmenter: the loaded model (``predict_timed``, ``overlay``, ``classes`` ...).
        max_upload_bytes (int): largest accepted file, in bytes (413 above).
        max_pixels (int): largest accepted width x height (413 above); at most Pillow's
            own decompression-bomb limit.
        max_pixels_in_flight (int | None): most pixels decoded, segmented and encoded at
            once, at least ``max_pixels`` (default: ``2 * max_pixels``).
        max_wait_s (float): how long an upload that does not fit may wait for room
            before its 503 (0: answer 503 at once).
        title (str): shown on the page and in the OpenAPI schema.
    """
    from fastapi import FastAPI, File, HTTPException, Query, UploadFile
    from fastapi.concurrency import run_in_threadpool
    from fastapi.responses import HTMLResponse, JSONResponse

    max_upload_bytes = int(max_upload_bytes)
    if max_upload_bytes < 1:
        raise ValueError(f'max_upload_bytes={max_upload_bytes} must be positive')
    max_pixels = check_max_pixels(max_pixels)
    if max_pixels_in_flight is None:
        max_pixels_in_flight = default_pixels_in_flight(max_pixels)
    max_pixels_in_flight = int(max_pixels_in_flight)
    if max_pixels_in_flight < 1:
        raise ValueError(f'max_pixels_in_flight={max_pixels_in_flight} must be positive')
    if max_pixels_in_flight < max_pixels:
        raise ValueError(f'max_pixels_in_flight={max_pixels_in_flight} is below '
                         f'max_pixels={max_pixels}: an image of max_pixels could never '
                         'be admitted')
    if not max_wait_s >= 0:  # NaN too
        raise ValueError(f'max_wait_s={max_wait_s} must be 0 or more (seconds)')
    budget = PixelBudget(max_pixels_in_flight, max_wait_s)
    # the docs pages load their scripts from a CDN, which an offline machine cannot
    app = FastAPI(title=title, docs_url=None, redoc_url=None)
    app.add_middleware(UploadSizeGuard,
                       body_limit=max_upload_bytes + MULTIPART_SLACK_BYTES,
                       file_limit=max_upload_bytes)
    page = read_index_html().replace('{{TITLE}}', html.escape(title))
    app.state.segmenter = segmenter
    app.state.budget = budget

    @app.exception_handler(Exception)
    async def internal_error(request, exc):
        # a JSON answer like every other error; the server goes on serving
        return JSONResponse({'detail': f'internal error: {type(exc).__name__}: {exc}'},
                            status_code=500)

    def health():
        return dict(status='ok', **segmenter.describe())

    @app.get('/', response_class=HTMLResponse)
    def index():
        return page

    @app.get('/api/health')
    def api_health():
        return health()

    @app.get('/api/info')
    def api_info():
        return dict(health(), limits=dict(max_upload_bytes=max_upload_bytes,
                                          max_pixels=max_pixels,
                                          max_pixels_in_flight=max_pixels_in_flight,
                                          max_wait_s=budget.max_wait_s),
                    accepted_formats=list(ACCEPTED_FORMATS),
                    converted_modes=list(CONVERTED_MODES), load=budget.snapshot())

    async def segment(file, as_png, received):
        size = file.size
        if size is None:  # not counted by the form parser: measure the spooled file
            size = file.file.seek(0, 2)
        if size > max_upload_bytes:
            raise HTTPException(413, _too_large(max_upload_bytes))
        try:  # the header only: the size is known before any pixel is decoded
            details = await run_in_threadpool(probe_image, file.file, max_pixels)
        except ImageRejected as exc:
            raise HTTPException(exc.status, exc.message) from None
        width, height = details['width'], details['height']
        pixels = width * height
        try:
            await budget.acquire(
                pixels, f'{width} x {height} = {pixels} pixels image')
        except ServiceBusy as exc:
            return JSONResponse({'detail': exc.message}, status_code=503,
                                headers={'Retry-After': str(exc.retry_after)})
        admitted = time.perf_counter()
        try:
            return await run_in_threadpool(answer_upload, segmenter, file.file,
                                           max_pixels, as_png, received)
        except ImageRejected as exc:
            raise HTTPException(exc.status, exc.message) from None
        finally:
            budget.release(pixels, time.perf_counter() - admitted)
            if pixels >= TRIM_MIN_PIXELS and budget.idle:  # a few ms, once per burst
                await run_in_threadpool(trim_heap)

    @app.post(SEGMENT_PATH)
    async def api_segment(file: UploadFile = File(...),
                          format: str = Query('json', pattern='^(json|png)$')):
        received = time.perf_counter()
        try:
            return await segment(file, format == 'png', received)
        finally:
            await file.close()

    return app
