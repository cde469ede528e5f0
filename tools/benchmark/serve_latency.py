"""Latency and memory of the segmentation web service (tools/serve_seg.py).

    python tools/benchmark/serve_latency.py --config DIR/student.py \
        --checkpoint DIR/student.pth [--requests 200] [--size 512] [--machine cpu2]
    python tools/benchmark/serve_latency.py --train-toy work_dirs/serve_toy  # toy student

1. ``--train-toy DIR`` first makes the exported toy student the service tests use
   (:func:`kd_plugins.service.toy_student.make_toy_student`: toy data, unet-c12 trained
   ``--train-iters`` iterations, exported; an earlier export in DIR is reused);
2. makes one ``--size`` x ``--size`` toy tile (the seeded toy segmentation generator),
3. starts ``tools/serve_seg.py`` as a subprocess (its own threads: the environment's
   ``OMP_NUM_THREADS``, or all cores),
4. after ``--warmup`` unmeasured requests, posts the tile ``--requests`` times, one at a
   time on a keep-alive connection, JSON answers (what the page asks for), timing each
   on the client and reading the server's ``latency_ms`` / ``inference_ms``; samples
   the server's resident memory (``VmRSS``) before the first and after every
   ``--rss-every``-th request,
5. writes ``<out>/results/service-latency-toy-seg-<machine>.json`` (../shared/
   BENCHMARKS.md; the ``student`` row's value is the median client latency in ms, lower
   is better) and ``<out>/service-latency-toy-seg-<machine>.md``.

Targets: median client latency below ``--target-ms`` (300 ms, 512 x 512 on 2 CPU cores)
and memory steady: RSS growth from request 50 to the last below ``--target-rss-mb``
(20 MiB).
"""
import argparse
import datetime
import json
import os
import os.path as osp
import platform
import statistics
import sys
import tempfile
import time

TOOLS = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, TOOLS)
from _common import ensure_importable  # noqa: E402

ensure_importable()
from _jobs import command_line, write_json  # noqa: E402

from kd_plugins.service.client import (ServerProcess, SegmentClient,  # noqa: E402
                                       rss_mb)

RSS_FROM = 50  # memory growth is measured from this request on (after the warm-up)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--config', help='served model config (DIR/student.py)')
    parser.add_argument('--checkpoint', help='its weights (DIR/student.pth)')
    parser.add_argument('--train-toy', metavar='DIR',
                        help='make (or reuse) the exported toy student in DIR and '
                        'serve it (instead of --config / --checkpoint)')
    parser.add_argument('--train-iters', type=int, default=2,
                        help='iterations of the toy student (default: 2; latency does '
                        'not depend on them)')
    parser.add_argument('--requests', type=int, default=200)
    parser.add_argument('--warmup', type=int, default=5)
    parser.add_argument('--size', type=int, default=512, help='tile side in pixels')
    parser.add_argument('--rss-every', type=int, default=10)
    parser.add_argument('--machine', default='cpu2')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--out', default='benchmarks', help='results folder root')
    parser.add_argument('--target-ms', type=float, default=300.0)
    parser.add_argument('--target-rss-mb', type=float, default=20.0)
    parser.add_argument('--note', default='',
                        help='what else ran on the machine, etc. (kept in both files)')
    args = parser.parse_args(argv)
    if args.train_toy is None and not (args.config and args.checkpoint):
        parser.error('give --config and --checkpoint, or --train-toy DIR')
    if args.requests < RSS_FROM + args.rss_every or args.rss_every < 1:
        parser.error(f'--requests must be at least {RSS_FROM} + --rss-every')
    return args


def make_tile(size, folder):
    """A seeded toy histology tile of ``size`` x ``size`` pixels (PNG bytes)."""
    from kd_plugins.datasets.toy import make_seg
    res = make_seg(osp.join(folder, 'tile'), num_train=1, num_val=1, num_test=1,
                   img_size=size, seed=0)
    with open(osp.join(res['val_img_dir'], '000000.png'), 'rb') as f:
        return f.read()


def cpu_name():
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or 'unknown CPU'


def summary(values):
    ordered = sorted(values)

    def pct(q):
        return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]

    return dict(median=round(statistics.median(values), 2),
                mean=round(statistics.fmean(values), 2), p90=round(pct(0.9), 2),
                p99=round(pct(0.99), 2), min=round(ordered[0], 2),
                max=round(ordered[-1], 2))


def measure(server, tile, requests, warmup, rss_every):
    client = SegmentClient(server.url)
    try:
        for _ in range(warmup):
            status, _, body = client.segment(tile)
            assert status == 200, body[:300]
        client_ms, server_ms, model_ms = [], [], []
        rss = [(0, round(rss_mb(server.pid), 1))]
        for i in range(1, requests + 1):
            start = time.perf_counter()
            status, _, body = client.segment(tile)
            answer = json.loads(body)
            client_ms.append((time.perf_counter() - start) * 1000.0)
            if status != 200:
                raise SystemExit(f'request {i}: {status} {answer}')
            server_ms.append(answer['latency_ms'])
            model_ms.append(answer['inference_ms'])
            if i % rss_every == 0:
                rss.append((i, round(rss_mb(server.pid), 1)))
        _, health = client.get_json('/api/info')
    finally:
        client.close()
    return client_ms, server_ms, model_ms, rss, health


def rss_at(samples, request):
    return min(samples, key=lambda s: abs(s[0] - request))[1]


def markdown(result, meta):
    extra = result['rows'][0]['extra']
    c, s, m = extra['client_ms'], extra['server_ms'], extra['inference_ms']
    t = extra['targets']
    lines = [
        f"Segmentation service latency, {extra['size']} x {extra['size']} toy tile, "
        f"{extra['requests']} sequential requests ({meta['machine']})", '',
        f"Command: `{result['command']}`", '',
        f"Model: {extra['model']['config_name']} ({extra['model']['type']}, "
        f"{extra['model']['backbone']} + {extra['model']['decode_head']}, "
        f"{extra['model']['num_params']:,} parameters), device "
        f"{extra['model']['device']}, server torch threads "
        f"{extra['model']['torch_threads']}; {meta['cpu']}; load average (1, 5, 15 min) "
        f"{extra['load_avg_before']} before, {extra['load_avg_after']} after.", '',
        '| latency (ms) | median | mean | p90 | p99 | min | max |',
        '|---|---:|---:|---:|---:|---:|---:|']
    for name, d in (('client (round trip)', c), ('server (decode + model + PNGs)', s),
                    ('model forward', m)):
        lines.append(f"| {name} | {d['median']:.1f} | {d['mean']:.1f} | {d['p90']:.1f} "
                     f"| {d['p99']:.1f} | {d['min']:.1f} | {d['max']:.1f} |")
    r = extra['rss_mb']
    lines += [
        '', f"Server memory (RSS): {r['before']:.1f} MiB before the first measured "
        f"request, {r['at_50']:.1f} at request 50, {r['last']:.1f} at request "
        f"{extra['requests']} (peak {r['peak']:.1f}); growth 50 -> {extra['requests']}: "
        f"{r['growth_from_50']:+.1f} MiB.", '',
        f"- median client latency {c['median']:.1f} ms < {t['latency_ms']:.0f} ms: "
        f"**{'met' if t['latency_met'] else 'not met'}**",
        f"- RSS growth from request 50 on {r['growth_from_50']:+.1f} MiB < "
        f"{t['rss_growth_mb']:.0f} MiB: **{'met' if t['rss_met'] else 'not met'}**"]
    if extra['note']:
        lines += ['', f"Note: {extra['note']}"]
    return '\n'.join(lines) + '\n'


def main(argv=None):
    args = parse_args(argv)
    work = tempfile.mkdtemp(prefix='kd_serve_latency_')
    load_before = [round(v, 2) for v in os.getloadavg()]
    if args.train_toy:
        from kd_plugins.service.toy_student import make_toy_student
        made = make_toy_student(args.train_toy, iters=args.train_iters)
        args.config, args.checkpoint = made['config'], made['checkpoint']
        print(f"toy student: {args.checkpoint} ({'reused' if made['reused'] else 'made'}"
              f" in {made['seconds']} s)", flush=True)
    tile = make_tile(args.size, work)
    server = ServerProcess(args.config, args.checkpoint, osp.join(work, 'server.log'),
                           extra_args=['--device', args.device])
    try:
        server.wait_ready()
        print(f'server ready on {server.url} (pid {server.pid}); {args.warmup} warm-up + '
              f'{args.requests} requests of a {args.size} px tile', flush=True)
        client_ms, server_ms, model_ms, rss, info = measure(
            server, tile, args.requests, args.warmup, args.rss_every)
    finally:
        server.stop()
    last = rss[-1][1]
    growth = round(last - rss_at(rss, RSS_FROM), 1)
    c = summary(client_ms)
    extra = dict(
        size=args.size, requests=args.requests, warmup=args.warmup,
        tile_bytes=len(tile), model=info['model'], client_ms=c,
        server_ms=summary(server_ms), inference_ms=summary(model_ms),
        rss_mb=dict(before=rss[0][1], at_50=rss_at(rss, RSS_FROM), last=last,
                    peak=max(v for _, v in rss), growth_from_50=growth,
                    samples=[list(s) for s in rss]),
        omp_num_threads=os.environ.get('OMP_NUM_THREADS'),
        load_avg_before=load_before,
        load_avg_after=[round(v, 2) for v in os.getloadavg()],
        note=args.note,
        targets=dict(latency_ms=args.target_ms, latency_met=c['median'] < args.target_ms,
                     rss_growth_mb=args.target_rss_mb,
                     rss_met=growth < args.target_rss_mb))
    meta = dict(machine=args.machine, cpu=f'{os.cpu_count()} logical CPUs ({cpu_name()})')
    result = dict(
        task='service', dataset='toy-seg', machine=args.machine,
        command=command_line('serve_latency.py', argv),
        date=datetime.date.today().isoformat(), metric='median_latency_ms',
        lower_is_better=True, seeds=[0],
        rows=[dict(name='student', per_seed=[c['median']], mean=c['median'], std=0.0,
                   peak_mem_mb=extra['rss_mb']['peak'], extra=extra)])
    stem = f'service-latency-toy-seg-{args.machine}'
    json_path = osp.join(args.out, 'results', f'{stem}.json')
    write_json(json_path, result)
    text = markdown(result, meta)
    md_path = osp.join(args.out, f'{stem}.md')
    with open(md_path, 'w') as f:
        f.write(text)
    print(text + f'\nwrote {json_path} and {md_path}')
    return result


if __name__ == '__main__':
    main()
