"""The segmentation web app: one loaded model behind a small HTTP API and an HTML page.

``create_app(segmenter, ...)`` returns a FastAPI application and starts nothing; serve it
with uvicorn (``tools/serve_seg.py``) or test it with FastAPI's ``TestClient``.

Endpoints:

- ``GET /``: the page (plain HTML + inline JS, no external resources): pick a PNG / JPEG
  / TIFF file, see the mask over the image, the latency, a class legend and a link that
  downloads the mask PNG.
- ``POST /api/segment`` (multipart, field ``file``): JSON with the image size, the
  classes and palette, the pixel count per class, ``latency_ms`` (server time from the
  received upload to the encoded answer, waiting for the model included),
  ``inference_ms`` (the forward pass alone) and the mask and overlay as base64 PNGs.
  ``?format=png`` answers the mask PNG itself (8-bit, pixel value = class index; the
  latencies are in the ``X-Latency-Ms`` / ``X-Inference-Ms`` headers).
- ``GET /api/health``: ``status: ok`` with the model and its classes and palette.
- ``GET /api/info``: the same plus the upload limits and the accepted formats / modes.

A refused upload is answered with a 4xx status and ``{"detail": "<why>"}`` (the table in
:mod:`kd_plugins.service.images`); an upload over ``max_upload_bytes`` gets 413, and one
whose request body is declared or found bigger than the limit (plus room for the
multipart headers) is cut off while it arrives. Model calls run in a worker thread, one
at a time (the segmenter's lock), so the event loop keeps answering meanwhile.
"""
import base64
import html
import os.path as osp
import time

from .images import (ACCEPTED_FORMATS, CONVERTED_MODES, DEFAULT_MAX_PIXELS,
                     ImageRejected, decode_image, encode_png)

DEFAULT_MAX_UPLOAD_BYTES = 20 * 1024 * 1024
MULTIPART_SLACK_BYTES = 64 * 1024  # boundaries and part headers around the file
SEGMENT_PATH = '/api/segment'
STATIC_DIR = osp.join(osp.dirname(osp.abspath(__file__)), 'static')


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


def read_index_html():
    with open(osp.join(STATIC_DIR, 'index.html'), encoding='utf-8') as f:
        return f.read()


def segment_bytes(segmenter, data, max_pixels, with_images=True):
    """Decode, segment and encode one upload; :class:`ImageRejected` for a bad one."""
    start = time.perf_counter()
    rgb, details = decode_image(data, max_pixels=max_pixels)
    mask, inference_ms = segmenter.predict_timed(rgb)
    mask_png = encode_png(mask)
    result = dict(
        width=details['width'], height=details['height'],
        input=dict(format=details['format'], mode=details['mode'], bytes=len(data)),
        classes=list(segmenter.classes), palette=[list(c) for c in segmenter.palette],
        pixel_counts=segmenter.pixel_counts(mask), mask=mask, mask_png=mask_png)
    if with_images:
        result['overlay_png'] = encode_png(segmenter.overlay(rgb, mask))
    result['inference_ms'] = round(inference_ms, 2)
    result['latency_ms'] = round((time.perf_counter() - start) * 1000.0, 2)
    return result


def create_app(segmenter, max_upload_bytes=DEFAULT_MAX_UPLOAD_BYTES,
               max_pixels=DEFAULT_MAX_PIXELS, title='kd_plugins segmentation'):
    """The FastAPI app serving ``segmenter`` (a :class:`~.segmenter.Segmenter`).

    Args:
        segmenter: the loaded model (``predict_timed``, ``overlay``, ``classes`` ...).
        max_upload_bytes (int): largest accepted file, in bytes (413 above).
        max_pixels (int): largest accepted width x height (413 above).
        title (str): shown on the page and in the OpenAPI schema.
    """
    from fastapi import FastAPI, File, HTTPException, Query, UploadFile
    from fastapi.concurrency import run_in_threadpool
    from fastapi.responses import HTMLResponse, JSONResponse, Response

    max_upload_bytes = int(max_upload_bytes)
    max_pixels = int(max_pixels)
    if max_upload_bytes < 1 or max_pixels < 1:
        raise ValueError(f'max_upload_bytes={max_upload_bytes} and '
                         f'max_pixels={max_pixels} must be positive')
    # the docs pages load their scripts from a CDN, which an offline machine cannot
    app = FastAPI(title=title, docs_url=None, redoc_url=None)
    app.add_middleware(UploadSizeGuard,
                       body_limit=max_upload_bytes + MULTIPART_SLACK_BYTES,
                       file_limit=max_upload_bytes)
    page = read_index_html().replace('{{TITLE}}', html.escape(title))
    app.state.segmenter = segmenter

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
                                          max_pixels=max_pixels),
                    accepted_formats=list(ACCEPTED_FORMATS),
                    converted_modes=list(CONVERTED_MODES))

    @app.post(SEGMENT_PATH)
    async def api_segment(file: UploadFile = File(...),
                          format: str = Query('json', pattern='^(json|png)$')):
        data = await file.read(max_upload_bytes + 1)
        await file.close()
        if len(data) > max_upload_bytes:
            raise HTTPException(413, _too_large(max_upload_bytes))
        as_png = format == 'png'
        try:
            result = await run_in_threadpool(segment_bytes, segmenter, data, max_pixels,
                                             not as_png)
        except ImageRejected as exc:
            raise HTTPException(exc.status, exc.message) from None
        if as_png:
            headers = {'X-Latency-Ms': str(result['latency_ms']),
                       'X-Inference-Ms': str(result['inference_ms']),
                       'Content-Disposition': 'inline; filename="mask.png"'}
            return Response(result['mask_png'], media_type='image/png', headers=headers)
        result.pop('mask')
        for key in ('mask_png', 'overlay_png'):
            result[key] = base64.b64encode(result[key]).decode('ascii')
        return result

    return app
