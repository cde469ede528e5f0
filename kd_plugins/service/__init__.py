"""The segmentation web service: a trained (distilled) mmseg student behind HTTP.

- :mod:`.segmenter`: load an exported student once (``load_segmenter``), predict a
  class-index mask for any image size, blend the overlay.
- :mod:`.images`: decode uploads, refusing what cannot be served (status + message).
- :mod:`.app`: ``create_app(segmenter, max_upload_bytes, max_pixels)``, the FastAPI app
  (HTML page, ``/api/segment``, ``/api/health``, ``/api/info``); starts no server.
- :mod:`.cli`: ``tools/serve_seg.py`` / ``kd-serve-seg``, the app under uvicorn.
- :mod:`.toy_student`: a tiny exported toy student for tests and the latency benchmark.

Nothing here is imported by ``import kd_plugins``; FastAPI is needed by :mod:`.app` and
:mod:`.cli` only.
"""
