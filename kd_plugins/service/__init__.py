"""The segmentation web service: a trained (distilled) mmseg student behind HTTP.

- :mod:`.segmenter`: load an exported student once (``load_segmenter``), predict a
  class-index mask for any image size, blend the overlay.
- :mod:`.images`: probe (header only) and decode uploads, refusing what cannot be
  served (status + message).
- :mod:`.app`: ``create_app(segmenter, max_upload_bytes, max_pixels,
  max_pixels_in_flight, max_wait_s)``, the FastAPI app (HTML page, ``/api/segment``,
  ``/api/health``, ``/api/info``) with its admission control (pixels in flight, 503 +
  ``Retry-After`` when full); starts no server.
- :mod:`.cli`: ``tools/serve_seg.py`` / ``kd-serve-seg``, the app under uvicorn on a
  socket bound before the model is loaded.
- :mod:`.toy_student`: a tiny exported toy student for tests and the latency benchmark.

Nothing here is imported by ``import kd_plugins``; FastAPI is needed by :mod:`.app` and
:mod:`.cli` only.
"""
