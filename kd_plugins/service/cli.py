"""Serve a trained mmseg segmentation model over HTTP (``tools/serve_seg.py``).

    python tools/serve_seg.py --config DIR/student.py --checkpoint DIR/student.pth \\
        [--device cpu|cuda] [--host 127.0.0.1] [--port 8000] [--max-upload-mb 20] \\
        [--max-pixels 4194304] [--max-pixels-in-flight 8388608] [--max-wait-s 10]

``DIR`` is what ``tools/export_student.py CKPT --config CFG --out DIR`` writes. The
address is taken first (a port in use stops it at once, before the model is loaded and
before anything says "serving"); then the model is loaded once, reported (config, type,
checkpoint, parameters, limits, classes and palette), and uvicorn serves the page at
``/`` and the API under ``/api/`` (:mod:`kd_plugins.service.app`) on that very socket.
A missing config or checkpoint, a checkpoint that does not fit the config, a CUDA device
on a machine without one, or an address that cannot be listened on (in use, not this
machine's) stops it with a message naming the file or the address, exit status 1.

``--max-pixels-in-flight`` bounds the memory that concurrent uploads can pin: uploads
are admitted by their width x height (read from the header) until that many pixels are
being decoded, segmented and encoded; the next ones wait up to ``--max-wait-s``, then
get 503 with ``Retry-After`` (:class:`kd_plugins.service.app.PixelBudget`).
"""
import argparse
import errno
import socket
import sys

from .app import DEFAULT_MAX_UPLOAD_BYTES, DEFAULT_MAX_WAIT_S, default_pixels_in_flight
from .images import DEFAULT_MAX_PIXELS, check_max_pixels


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Serve a trained mmseg segmentation model (web page + JSON API)')
    parser.add_argument('--config', required=True,
                        help='the model config (DIR/student.py of export_student.py)')
    parser.add_argument('--checkpoint', required=True,
                        help='its weights (DIR/student.pth)')
    parser.add_argument('--device', default='cpu',
                        help='cpu, cuda or cuda:N (default: cpu)')
    parser.add_argument('--host', default='127.0.0.1',
                        help='address to listen on (default: 127.0.0.1; 0.0.0.0 for all)')
    parser.add_argument('--port', type=int, default=8000, help='default: 8000')
    parser.add_argument('--max-upload-mb', type=float,
                        default=DEFAULT_MAX_UPLOAD_BYTES / 2**20,
                        help='largest accepted upload in MiB (default: %(default)s); '
                        'larger files get 413')
    parser.add_argument('--max-pixels', type=int, default=DEFAULT_MAX_PIXELS,
                        help='largest accepted width x height (default: %(default)s); '
                        'larger images get 413 before they are decoded')
    parser.add_argument('--max-pixels-in-flight', type=int, default=None,
                        help='most pixels decoded, segmented and encoded at once, which '
                        'bounds the memory of concurrent uploads (default: 2 x '
                        '--max-pixels); uploads over it wait, then get 503')
    parser.add_argument('--max-wait-s', type=float, default=DEFAULT_MAX_WAIT_S,
                        help='how long an upload may wait for room under '
                        '--max-pixels-in-flight before its 503 with Retry-After '
                        '(default: %(default)s; 0: 503 at once)')
    parser.add_argument('--log-level', default='info',
                        choices=['critical', 'error', 'warning', 'info', 'debug'],
                        help="uvicorn's log level (default: info)")
    args = parser.parse_args(argv)
    if args.max_upload_mb <= 0 or args.max_pixels <= 0:
        parser.error('--max-upload-mb and --max-pixels must be positive')
    try:
        check_max_pixels(args.max_pixels, name='--max-pixels')
    except ValueError as exc:
        parser.error(str(exc).replace('--max-pixels=', '--max-pixels ', 1))
    if args.max_pixels_in_flight is None:
        args.max_pixels_in_flight = default_pixels_in_flight(args.max_pixels)
    elif args.max_pixels_in_flight <= 0:
        parser.error(f'--max-pixels-in-flight {args.max_pixels_in_flight} must be '
                     'positive')
    elif args.max_pixels_in_flight < args.max_pixels:
        parser.error(f'--max-pixels-in-flight {args.max_pixels_in_flight} is below '
                     f'--max-pixels {args.max_pixels}: an image that large could never '
                     'be admitted')
    if not args.max_wait_s >= 0:
        parser.error(f'--max-wait-s {args.max_wait_s} must be 0 or more (seconds)')
    if not 0 < args.port < 65536:
        parser.error(f'--port {args.port} is not a TCP port')
    return args


def address(host, port):
    """``host:port`` as a URL writes it (``[::1]:8000`` for an IPv6 address)."""
    return f'[{host}]:{port}' if ':' in host else f'{host}:{port}'


def bind_socket(host, port):
    """A TCP socket bound to ``host:port`` (uvicorn listens on it later), or exit 1 with
    a message naming the address: nothing is loaded or announced on a port in use, and
    no other server can take the port between this check and uvicorn's start."""
    try:
        family, kind, proto, _, sockaddr = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
        sock = socket.socket(family, kind, proto)
    except OSError as exc:  # an unknown host name
        _cannot_listen(host, port, exc)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does
        sock.bind(sockaddr)
    except OSError as exc:
        sock.close()
        _cannot_listen(host, port, exc)
    return sock


def _cannot_listen(host, port, exc):
    why = exc.strerror or str(exc)
    why = why[:1].lower() + why[1:]
    hint = {errno.EADDRINUSE: ' (another server listens there; choose another --port)',
            errno.EACCES: ' (ports below 1024 need privileges; choose another --port)',
            errno.EADDRNOTAVAIL: ' (not an address of this machine; see --host)'}
    print(f'serve_seg: error: cannot listen on {address(host, port)}: {why}'
          f'{hint.get(exc.errno, "")}', file=sys.stderr)
    raise SystemExit(1)


def model_report(segmenter, max_upload_bytes, max_pixels, max_pixels_in_flight=None,
                 max_wait_s=DEFAULT_MAX_WAIT_S):
    """The lines printed at start: what is served and under which limits."""
    info = segmenter.info
    if max_pixels_in_flight is None:
        max_pixels_in_flight = default_pixels_in_flight(max_pixels)
    waits = f'after waiting {max_wait_s:g} s' if max_wait_s > 0 else 'at once'
    lines = [
        f"model      {info['config_name']}: {info['type']} ({info['backbone']} + "
        f"{info['decode_head']}), {info['num_params']:,} parameters, "
        f"device {info['device']}",
        f"config     {info['config']}",
        f"checkpoint {info['checkpoint']}",
        f"input      padded to a multiple of {info['size_divisor']} px, mask cropped "
        'back to the image size',
        f'limits     {max_upload_bytes:,} bytes per upload, {max_pixels:,} pixels per '
        f'image, {max_pixels_in_flight:,} pixels in flight (503 {waits})',
        f'classes    {len(segmenter.classes)}:']
    for i, (name, colour) in enumerate(zip(segmenter.classes, segmenter.palette)):
        lines.append(f'  {i:3d} {name:<20s} colour {tuple(colour)}')
    return '\n'.join(lines)


def main(argv=None):
    args = parse_args(argv)
    from .segmenter import ModelLoadError, check_model_files, load_segmenter
    try:
        check_model_files(args.config, args.checkpoint)  # before taking the port
    except ModelLoadError as exc:
        print(f'serve_seg: error: {exc}', file=sys.stderr)
        raise SystemExit(1)
    sock = bind_socket(args.host, args.port)  # before the slow part: fail in a second
    try:
        try:
            segmenter = load_segmenter(args.config, args.checkpoint, device=args.device)
        except ModelLoadError as exc:
            print(f'serve_seg: error: {exc}', file=sys.stderr)
            raise SystemExit(1)
        import uvicorn

        from .app import create_app
        max_upload_bytes = int(args.max_upload_mb * 2**20)
        app = create_app(segmenter, max_upload_bytes=max_upload_bytes,
                         max_pixels=args.max_pixels,
                         max_pixels_in_flight=args.max_pixels_in_flight,
                         max_wait_s=args.max_wait_s)
        print(model_report(segmenter, max_upload_bytes, args.max_pixels,
                           args.max_pixels_in_flight, args.max_wait_s), flush=True)
        print(f'serving on http://{address(args.host, args.port)}/', flush=True)
        config = uvicorn.Config(app, host=args.host, port=args.port,
                                log_level=args.log_level)
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        sock.close()


if __name__ == '__main__':
    main()
