"""Serve a trained mmseg segmentation model over HTTP (``tools/serve_seg.py``).

    python tools/serve_seg.py --config DIR/student.py --checkpoint DIR/student.pth \\
        [--device cpu|cuda] [--host 127.0.0.1] [--port 8000] [--max-upload-mb 20] \\
        [--max-pixels 4194304]

``DIR`` is what ``tools/export_student.py CKPT --config CFG --out DIR`` writes. The model
is loaded once, reported (config, type, checkpoint, parameters, classes and palette),
then uvicorn serves the page at ``/`` and the API under ``/api/``
(:mod:`kd_plugins.service.app`). A missing config or checkpoint, a checkpoint that does
not fit the config or a CUDA device on a machine without one stops it with a message
naming the file, exit status 1.
"""
import argparse
import sys

from .app import DEFAULT_MAX_UPLOAD_BYTES
from .images import DEFAULT_MAX_PIXELS


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
    parser.add_argument('--log-level', default='info',
                        choices=['critical', 'error', 'warning', 'info', 'debug'],
                        help="uvicorn's log level (default: info)")
    args = parser.parse_args(argv)
    if args.max_upload_mb <= 0 or args.max_pixels <= 0:
        parser.error('--max-upload-mb and --max-pixels must be positive')
    if not 0 < args.port < 65536:
        parser.error(f'--port {args.port} is not a TCP port')
    return args


def model_report(segmenter, max_upload_bytes, max_pixels):
    """The lines printed at start: what is served and under which limits."""
    info = segmenter.info
    lines = [
        f"model      {info['config_name']}: {info['type']} ({info['backbone']} + "
        f"{info['decode_head']}), {info['num_params']:,} parameters, "
        f"device {info['device']}",
        f"config     {info['config']}",
        f"checkpoint {info['checkpoint']}",
        f"input      padded to a multiple of {info['size_divisor']} px, mask cropped "
        'back to the image size',
        f'limits     {max_upload_bytes:,} bytes per upload, {max_pixels:,} pixels',
        f'classes    {len(segmenter.classes)}:']
    for i, (name, colour) in enumerate(zip(segmenter.classes, segmenter.palette)):
        lines.append(f'  {i:3d} {name:<20s} colour {tuple(colour)}')
    return '\n'.join(lines)


def main(argv=None):
    args = parse_args(argv)
    from .segmenter import ModelLoadError, load_segmenter
    try:
        segmenter = load_segmenter(args.config, args.checkpoint, device=args.device)
    except ModelLoadError as exc:
        print(f'serve_seg: error: {exc}', file=sys.stderr)
        raise SystemExit(1)
    import uvicorn

    from .app import create_app
    max_upload_bytes = int(args.max_upload_mb * 2**20)
    app = create_app(segmenter, max_upload_bytes=max_upload_bytes,
                     max_pixels=args.max_pixels)
    print(model_report(segmenter, max_upload_bytes, args.max_pixels), flush=True)
    print(f'serving on http://{args.host}:{args.port}/', flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level)


if __name__ == '__main__':
    main()
