"""The end-to-end steps of the GPU check (tools/gpu/check.sh), each what a user runs:

    python tools/gpu/smoke.py dist     --work W   # tools/dist_train.sh CWD 1 process
    python tools/gpu/smoke.py export   --work W   # export_student.py + mim test mmdet
    python tools/gpu/smoke.py service  --work W [--device cuda]   # one request

``dist`` trains MMRazor CWD on toy detection data for 4 iterations through torchrun
(nccl on a GPU, gloo on the CPU) and checks its checkpoint; ``export`` exports that
checkpoint's student and runs ``mim test mmdet`` on it; ``service`` trains and exports
the toy segmentation student, starts ``tools/serve_seg.py --device DEVICE`` and checks
one segmentation request (its mask covers the image and names the toy classes) and
that the server reports the device. Each prints ``PASS <step> ...`` or exits non-zero
with the reason.
"""
import argparse
import json
import os
import os.path as osp
import re
import subprocess
import sys
import time

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, ROOT)
CWD_CFG = osp.join(ROOT, 'configs', 'mmrazor_cwd',
                   'cwd_neck_yolov3-mbv2-w100_yolov3-mbv2-w025_toy-det.py')
ITERS = 4


def env():
    e = dict(os.environ)
    e['PYTHONPATH'] = ROOT + os.pathsep + e.get('PYTHONPATH', '')
    e['PYTHON'] = sys.executable  # dist_launch.sh: this interpreter, not a venv's
    return e


def run(cmd, timeout=600):
    t0 = time.perf_counter()
    res = subprocess.run(cmd, cwd=ROOT, env=env(), capture_output=True, text=True,
                         timeout=timeout)
    out = res.stdout + res.stderr
    if res.returncode != 0:
        raise SystemExit(f'FAIL: {" ".join(cmd[:4])} ... exited {res.returncode}:\n'
                         f'{out[-4000:]}')
    return out, time.perf_counter() - t0


def det_data(work):
    """A small toy detection set and the --cfg-options pointing a toy config at it."""
    from kd_plugins.datasets.toy import det_loader_options, make_det
    root = osp.join(work, 'toy_det')
    make_det(root, num_train=16, num_val=8, num_test=8, img_size=160, seed=0)
    opts = det_loader_options(root, 4)
    return ['--cfg-options'] + [f'{k}={v}' for k, v in opts.items()]


def step_dist(work):
    kd = osp.join(work, 'dist_cwd')
    out, sec = run(['bash', osp.join(ROOT, 'tools', 'dist_train.sh'), CWD_CFG, '1',
                    '--work-dir', kd, '--max-iters', str(ITERS)] + det_data(work) +
                   ['default_hooks.logger.interval=1'])
    ckpt = osp.join(kd, f'iter_{ITERS}.pth')
    if not osp.isfile(ckpt):
        raise SystemExit(f'FAIL dist: no {ckpt}:\n{out[-3000:]}')
    losses = re.findall(r'distill\.loss_neck\d: ([0-9.eE+-]+|nan|inf)', out)
    if not losses or any(v in ('nan', 'inf') for v in losses):
        raise SystemExit(f'FAIL dist: distillation losses {losses[:6]}:\n{out[-3000:]}')
    import torch
    where = 'CUDA, nccl' if torch.cuda.is_available() else 'CPU, gloo'
    print(f'PASS dist: {ITERS} iterations through torchrun ({where}), '
          f'{len(losses)} finite CWD terms, {sec:.0f} s')


def step_export(work):
    kd = osp.join(work, 'dist_cwd')
    ckpt = osp.join(kd, f'iter_{ITERS}.pth')
    if not osp.isfile(ckpt):
        raise SystemExit(f'FAIL export: run the dist step first ({ckpt} missing)')
    export = osp.join(work, 'export')
    run([sys.executable, osp.join(ROOT, 'tools', 'export_student.py'), ckpt, '--config',
         CWD_CFG, '--out', export])
    mim = [sys.executable, '-c', 'import sys; from mim.cli import cli; sys.exit(cli())']
    out, sec = run(mim + ['test', 'mmdet', osp.join(export, 'student.py'), '--checkpoint',
                          osp.join(export, 'student.pth'), '--work-dir',
                          osp.join(work, 'mim_test')] + det_data(work))
    m = re.search(r'coco/bbox_mAP: ([0-9.]+)', out)
    if not m:
        raise SystemExit(f'FAIL export: mim test printed no bbox_mAP:\n{out[-3000:]}')
    print(f'PASS export: student exported, mim test mmdet bbox_mAP {m.group(1)} '
          f'({sec:.0f} s)')


def step_service(work, device):
    import io

    import numpy as np
    from PIL import Image

    from kd_plugins.service.client import SegmentClient, ServerProcess
    from kd_plugins.service.toy_student import make_toy_student
    student = make_toy_student(osp.join(work, 'toy_student'), iters=2, env=env())
    server = ServerProcess(student['config'], student['checkpoint'],
                           osp.join(work, 'serve_seg.log'), ['--device', device], env=env())
    try:
        server.wait_ready(timeout=300)
        folder = osp.join(student['data_root'], 'img_dir', 'val')
        path = osp.join(folder, sorted(os.listdir(folder))[0])
        with open(path, 'rb') as f:
            data = f.read()
        h, w = np.asarray(Image.open(io.BytesIO(data))).shape[:2]
        client = SegmentClient(server.url)
        try:
            t0 = time.perf_counter()
            status, headers, body = client.segment(data, fmt='json')
            sec = time.perf_counter() - t0
            _, info = client.get_json('/api/info')
        finally:
            client.close()
    finally:
        server.stop()
    if status != 200:
        raise SystemExit(f'FAIL service: status {status}: {body[:500]!r}\n{server.log()}')
    answer = json.loads(body)
    text = json.dumps(answer)
    served_on = str(info.get('model', {}).get('device', ''))
    if served_on.split(':')[0] != device:
        raise SystemExit(f'FAIL service: /api/info says the model is on {served_on!r}, '
                         f'asked for {device!r}')
    for name in ('background', 'cell', 'gland', 'vessel'):
        if name not in text:
            raise SystemExit(f'FAIL service: the answer does not name class {name!r}: '
                             f'{text[:500]}')
    if f'{h}' not in text or f'{w}' not in text:
        raise SystemExit(f'FAIL service: the answer does not give the image size {h}x{w}'
                         f': {text[:500]}')
    print(f'PASS service: --device {device}, one {w}x{h} request answered in '
          f'{sec * 1000:.0f} ms')


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('step', choices=['dist', 'export', 'service'])
    p.add_argument('--work', required=True, help='folder for data, runs and logs')
    p.add_argument('--device', default='cuda', choices=['cuda', 'cpu'],
                   help='service device (default cuda)')
    args = p.parse_args(argv)
    os.makedirs(args.work, exist_ok=True)
    if args.step == 'dist':
        step_dist(args.work)
    elif args.step == 'export':
        step_export(args.work)
    else:
        step_service(args.work, args.device)


if __name__ == '__main__':
    main()
