"""Decode an uploaded image for the segmentation service, refusing what it cannot serve.

What is accepted and what is refused (``ImageRejected.status`` is the HTTP status):

======================================  =========================================
upload                                  outcome
======================================  =========================================
empty file                              400
bytes Pillow cannot identify (text,     415 (not a PNG, JPEG or TIFF image)
  PDF, ...)
an image of another format (GIF, BMP,   415 (format named)
  WebP, ...)
width x height above ``max_pixels``     413 (checked from the header, before any
  (decompression-bomb guard)              pixel is decoded)
PNG / JPEG / TIFF of mode RGB, RGBA,    converted to 8-bit RGB (alpha dropped,
  L, LA, P (palette), PA, 1 (1-bit)       palette and grey expanded, 1-bit -> 0/255)
mode I;16* / I (16/32-bit integer),     415 (no single right way to map to 8-bit
  F (float), CMYK, YCbCr, LAB, ...        RGB without a window or colour profile)
truncated or corrupt pixel data         400 (could not decode)
======================================  =========================================

A JPEG's EXIF orientation is applied, so the mask lines up with the image as viewers
show it; a multi-page TIFF is served by its first page.
"""
import io
import warnings

import numpy as np

ACCEPTED_FORMATS = ('PNG', 'JPEG', 'TIFF')
CONVERTED_MODES = ('RGB', 'RGBA', 'L', 'LA', 'P', 'PA', '1')
DEFAULT_MAX_PIXELS = 2048 * 2048


class ImageRejected(ValueError):
    """An upload the service does not segment; ``status`` is the HTTP status to send."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = int(status)
        self.message = message


def decode_image(data, max_pixels=DEFAULT_MAX_PIXELS):
    """``(rgb, details)`` of an uploaded file's bytes, or :class:`ImageRejected`.

    ``rgb`` is an H x W x 3 ``uint8`` array; ``details`` holds the format, the original
    mode, width and height.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    if not data:
        raise ImageRejected(400, 'empty file: the upload holds no bytes')
    try:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore', Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))  # reads the header only
    except UnidentifiedImageError:
        raise ImageRejected(415, 'not a PNG, JPEG or TIFF image (the bytes are not an '
                            'image format this service reads)') from None
    except Image.DecompressionBombError as exc:
        raise ImageRejected(413, f'image too large: {exc}') from None
    except Exception as exc:  # noqa: BLE001  (a malformed header)
        raise ImageRejected(400, f'could not read the image header: {exc}') from None
    fmt, mode = image.format, image.mode
    if fmt not in ACCEPTED_FORMATS:
        raise ImageRejected(415, f'{fmt} images are not accepted; send PNG, JPEG or '
                            'TIFF')
    width, height = image.size
    if width < 1 or height < 1:
        raise ImageRejected(400, f'the {fmt} image has no pixels ({width} x {height})')
    if width * height > max_pixels:
        raise ImageRejected(413, f'image too large: {width} x {height} = '
                            f'{width * height} pixels, the limit is {max_pixels}')
    if mode not in CONVERTED_MODES:
        raise ImageRejected(415, f'unsupported image mode {mode!r} ({fmt}); '
                            f'send 8-bit RGB, RGBA, greyscale or palette images '
                            f'(modes {", ".join(CONVERTED_MODES)})')
    try:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore', Image.DecompressionBombWarning)
            image.load()
            image = ImageOps.exif_transpose(image)
            rgb = np.asarray(image.convert('RGB'), dtype=np.uint8)
    except Exception as exc:  # noqa: BLE001  (truncated / corrupt pixel data)
        raise ImageRejected(400, f'could not decode the {fmt} image: {exc}') from None
    details = dict(format=fmt, mode=mode, width=int(rgb.shape[1]),
                   height=int(rgb.shape[0]))
    return rgb, details


def encode_png(array, compress_level=1):
    """PNG bytes of a ``uint8`` H x W (mode L) or H x W x 3 (RGB) array."""
    from PIL import Image
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(array)).save(
        buf, format='PNG', compress_level=compress_level)
    return buf.getvalue()
