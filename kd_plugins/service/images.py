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
  (decompression-bomb guard)              pixel is decoded; the message quotes
                                          ``max_pixels``, also for images over
                                          Pillow's own bomb limit)
PNG / JPEG / TIFF of mode RGB, RGBA,    converted to 8-bit RGB (alpha dropped,
  L, LA, P (palette), PA, 1 (1-bit)       palette and grey expanded, 1-bit -> 0/255)
mode I;16* / I (16/32-bit integer),     415 (no single right way to map to 8-bit
  F (float), CMYK, YCbCr, LAB, ...        RGB without a window or colour profile)
truncated or corrupt pixel data         400 (could not decode)
======================================  =========================================

A JPEG's EXIF orientation is applied, so the mask lines up with the image as viewers
show it; a multi-page TIFF is served by its first page.

:func:`probe_image` makes every check above that the header allows and returns the size
without decoding (the service admits an upload by its pixels before decoding it);
:func:`decode_image` probes, then decodes. Both take the upload's bytes or a seekable
binary file (the service passes the spooled upload: no copy of the raw bytes is made
for decoders that read in blocks, as PNG and JPEG do). ``max_pixels`` may not exceed
:func:`pillow_pixel_limit`: Pillow refuses larger images itself, before any limit of
ours could allow them.
"""
import io
import re
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


def pillow_pixel_limit():
    """Pillow's decompression-bomb limit: ``Image.open`` raises above this many pixels
    (``2 * PIL.Image.MAX_IMAGE_PIXELS``); ``None`` when that check is switched off."""
    from PIL import Image
    return None if Image.MAX_IMAGE_PIXELS is None else 2 * int(Image.MAX_IMAGE_PIXELS)


def check_max_pixels(max_pixels, name='max_pixels'):
    """``max_pixels`` as an int, or ``ValueError`` naming ``name`` when it is not
    positive or above :func:`pillow_pixel_limit` (such images never reach our check)."""
    max_pixels = int(max_pixels)
    limit = pillow_pixel_limit()
    if max_pixels < 1:
        raise ValueError(f'{name}={max_pixels} must be positive')
    if limit is not None and max_pixels > limit:
        raise ValueError(f"{name}={max_pixels} is above Pillow's decompression-bomb "
                         f'limit of {limit} pixels (2 x PIL.Image.MAX_IMAGE_PIXELS): '
                         'Pillow refuses such images before this limit is checked')
    return max_pixels


def _too_large(pixels, max_pixels):
    return f'image too large: {pixels}, the limit is {max_pixels}'


def _bomb_pixels(exc):
    """The pixel count quoted by Pillow's ``DecompressionBombError`` (its message reads
    "Image size (N pixels) exceeds limit of M pixels ..."), else what we know of it."""
    found = re.search(r'\((\d+) pixels\)', str(exc))
    return f'{found.group(1)} pixels' if found else \
        f'more than {pillow_pixel_limit()} pixels'


class _Borrowed:
    """A caller's binary file lent to Pillow: everything passes through but ``close``,
    which does nothing (closing an image closes its file; the caller still needs it)."""

    def __init__(self, fp):
        self._fp = fp

    def __getattr__(self, name):
        return getattr(self._fp, name)

    def close(self):
        pass


def _as_file(source):
    """``(file, number of bytes)`` of the upload's bytes or of a seekable binary file."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        return io.BytesIO(source), len(source)
    source.seek(0, io.SEEK_END)
    size = source.tell()
    source.seek(0)
    return _Borrowed(source), size


def _open_checked(source, max_pixels):
    """``(image, details)``: the opened, not yet decoded image and what its header
    says, or :class:`ImageRejected` (see the table above)."""
    from PIL import Image, UnidentifiedImageError

    max_pixels = check_max_pixels(max_pixels)
    fp, size = _as_file(source)
    if not size:
        raise ImageRejected(400, 'empty file: the upload holds no bytes')
    try:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore', Image.DecompressionBombWarning)
            image = Image.open(fp)  # reads the header only
    except UnidentifiedImageError:
        raise ImageRejected(415, 'not a PNG, JPEG or TIFF image (the bytes are not an '
                            'image format this service reads)') from None
    except Image.DecompressionBombError as exc:
        # Pillow's own guard fired first (its limit is above any allowed max_pixels):
        # answer with the limit this service was configured with, as for any image
        # over it
        raise ImageRejected(413, _too_large(_bomb_pixels(exc), max_pixels)) from None
    except Exception as exc:  # noqa: BLE001  (a malformed header)
        raise ImageRejected(400, f'could not read the image header: {exc}') from None
    fmt, mode = image.format, image.mode
    width, height = image.size
    problem = _header_problem(fmt, mode, width, height, max_pixels)
    if problem is not None:
        image.close()
        raise problem
    return image, dict(format=fmt, mode=mode, width=int(width), height=int(height),
                       bytes=int(size))


def _header_problem(fmt, mode, width, height, max_pixels):
    """The :class:`ImageRejected` for what the header says, ``None`` if it is fine."""
    if fmt not in ACCEPTED_FORMATS:
        return ImageRejected(415, f'{fmt} images are not accepted; send PNG, JPEG or '
                             'TIFF')
    if width < 1 or height < 1:
        return ImageRejected(400, f'the {fmt} image has no pixels ({width} x {height})')
    if width * height > max_pixels:
        return ImageRejected(413, _too_large(
            f'{width} x {height} = {width * height} pixels', max_pixels))
    if mode not in CONVERTED_MODES:
        return ImageRejected(415, f'unsupported image mode {mode!r} ({fmt}); '
                             f'send 8-bit RGB, RGBA, greyscale or palette images '
                             f'(modes {", ".join(CONVERTED_MODES)})')
    return None


def probe_image(source, max_pixels=DEFAULT_MAX_PIXELS):
    """What the header of an upload says (``format``, ``mode``, ``width``, ``height``,
    ``bytes``), after every check that needs no pixel data; :class:`ImageRejected`
    otherwise. Nothing is decoded, so it is cheap for any image size."""
    image, details = _open_checked(source, max_pixels)
    image.close()
    return details


def decode_image(source, max_pixels=DEFAULT_MAX_PIXELS):
    """``(rgb, details)`` of an upload (its bytes or a seekable binary file), or
    :class:`ImageRejected`.

    ``rgb`` is an H x W x 3 ``uint8`` array; ``details`` holds the format, the original
    mode, width, height (after the EXIF orientation) and the number of bytes.
    """
    from PIL import Image, ImageOps

    image, details = _open_checked(source, max_pixels)
    fmt = details['format']
    try:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore', Image.DecompressionBombWarning)
            image.load()
            ImageOps.exif_transpose(image, in_place=True)
            if image.mode != 'RGB':  # no copy of an image that is RGB already
                converted = image.convert('RGB')
                image.close()
                image = converted
            rgb = np.asarray(image, dtype=np.uint8)
    except Exception as exc:  # noqa: BLE001  (truncated / corrupt pixel data)
        raise ImageRejected(400, f'could not decode the {fmt} image: {exc}') from None
    finally:
        image.close()
    details.update(width=int(rgb.shape[1]), height=int(rgb.shape[0]))
    return rgb, details


def encode_png(array, compress_level=1):
    """PNG bytes of a ``uint8`` H x W (mode L) or H x W x 3 (RGB) array."""
    from PIL import Image
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(array)).save(
        buf, format='PNG', compress_level=compress_level)
    return buf.getvalue()


def encode_palette_png(mask, palette, compress_level=1):
    """PNG bytes of a class-index mask (``uint8`` H x W) in palette mode: each pixel
    shows its class colour (``palette``: one RGB triple per class) and the file stays
    as small as the mask."""
    from PIL import Image
    mask = np.ascontiguousarray(mask, dtype=np.uint8)
    image = Image.frombytes('P', (mask.shape[1], mask.shape[0]), mask.tobytes())
    flat = [int(v) for colour in palette for v in colour]
    image.putpalette(flat + [0] * (768 - len(flat)))
    buf = io.BytesIO()
    image.save(buf, format='PNG', compress_level=compress_level)
    return buf.getvalue()
