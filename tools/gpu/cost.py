"""Real-size cost of distillation: seconds per training iteration and peak GPU memory of
the no-KD student, MMRazor CWD and each kd_plugins method on four real pairs.

    python tools/gpu/cost.py --out DIR [--pairs NAME ...] [--iters 10] [--warmup 3] \
        [--machine h200] [--amp-dtype bfloat16]
    python tools/gpu/cost.py --cpu --out DIR      # dry run: tiny inputs, CPU, 1 round

Pairs (input size and batch of their real training configs):
  yolov3-d53-mbv2        YOLOv3-D53 -> YOLOv3-MobileNetV2, 608 x 608, batch 16
  faster-rcnn-r101-r50   Faster R-CNN R101 -> R50 (FPN), 800 x 1333, batch 2
  deeplabv3-r101-r18     PSPNet-R101 (+ DeepLabV3-R101) -> DeepLabV3-R18, 512 x 1024, batch 2
  resnet32x4-resnet8x4   CIFAR-100 resnet32x4 -> resnet8x4, 32 x 32, batch 64

Every model is built from the project's real config; the batches are synthetic (random
images of the real size, a few random boxes / a random label map / a random class), made
once and given to every model: no dataset, no checkpoint is read (weights do not change
the cost) and nothing is downloaded. The timing is tools/benchmark/iter_timing.py's: in
each round every model does one real ``train_step`` in turn, and each method's teachers
one inference (the floor = student step + teacher inference). Peak memory of a row: the
most the step allocated above what was resident before it, plus the row's own resident
weights, buffers and optimizer state (CUDA only).

Writes ``DIR/cost-<pair>-<machine>.json`` (the ``cost`` format of
../shared/BENCHMARKS.md: metric s_per_iter, one value per row, the median of the timed
rounds; like the service file it carries no "protocol" key, as v2's splits, sweep and
seeds do not apply to it) and ``DIR/cost-<machine>.md`` (one table per pair). A pair that fails is written
as failed with its error, the other pairs still run; exit status 1 then.
"""
import argparse
import datetime
import json
import os
import os.path as osp
import sys
import tempfile
import traceback
from dataclasses import dataclass, field

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, osp.join(ROOT, 'tools'))
sys.path.insert(0, osp.join(ROOT, 'tools', 'benchmark'))
from _common import AMP_DTYPES, ensure_importable, use_amp  # noqa: E402

ensure_importable()

import torch  # noqa: E402

import iter_timing  # noqa: E402
from kd_plugins.engine.atomic_io import atomic_write  # noqa: E402

C = 'configs/'
DET = 'yolov3-d53_yolov3-mbv2_coco'
FRCNN = 'faster-rcnn-r101_faster-rcnn-r50_fpn'
SEG = '4xb2-80k_cityscapes-512x1024'


@dataclass
class Pair:
    kind: str  # det | seg | cls (what the synthetic samples carry)
    size: tuple  # (H, W) of the real input
    batch: int
    student: str
    methods: dict  # row name -> config
    semi: tuple = ()  # rows whose batches are labeled + unlabeled (M3)
    tiny: tuple = (64, 64)  # --cpu dry run
    notes: str = ''
    classes: int = field(default=80)


PAIRS = {
    'yolov3-d53-mbv2': Pair(
        'det', (608, 608), 16, C + 'detectors/yolov3_mobilenetv2_8xb24-ms-416-300e_coco.py',
        {'mmrazor:cwd': C + f'mmrazor_cwd/cwd_neck_{DET}.py',
         'M1': C + f'attention_imitation/m1_{DET}.py',
         'M2': C + f'confidence_guided/m2_{DET}.py',
         'M3': C + f'semi_adaptive/m3_{DET}-semi10.py',
         'M4': C + f'info_map/m4_{DET}.py'},
        semi=('M3', ), notes='M3: half of each batch labeled, half unlabeled.'),
    'faster-rcnn-r101-r50': Pair(
        'det', (800, 1333), 2, C + 'detectors/faster-rcnn_r50_fpn_1x_coco.py',
        {'mmrazor:cwd': C + 'mmrazor_cwd/cwd_fpn_faster-rcnn-r101_faster-rcnn-r50_1x_coco.py',
         'M1': C + f'attention_imitation/m1_{FRCNN}_1x_coco.py',
         'M2': C + f'confidence_guided/m2_{FRCNN}_1x_coco.py',
         'M3': C + f'semi_adaptive/m3_{FRCNN}_coco-semi10.py',
         'M4': C + f'info_map/m4_{FRCNN}_1x_coco.py'},
        semi=('M3', ), tiny=(64, 96), notes='M3: half of each batch labeled, half unlabeled.'),
    'deeplabv3-r101-r18': Pair(
        'seg', (512, 1024), 2, C + f'segmentors/deeplabv3-r18-d8_{SEG}.py',
        {'mmrazor:cwd': C + f'mmrazor_cwd/cwd_logits_pspnet-r101_deeplabv3-r18_{SEG}.py',
         'baseline:equal-weight-multi-teacher':
             C + f'multi_teacher/equal-weight_pspnet-r101_deeplabv3-r101_deeplabv3-r18_{SEG}.py',
         'M6': C + f'multi_teacher/m6_pspnet-r101_deeplabv3-r101_deeplabv3-r18_{SEG}.py'},
        tiny=(64, 128), classes=19,
        notes='CWD from PSPNet-R101 alone; M6 and equal weighting from PSPNet-R101 and '
        'DeepLabV3-R101.'),
    'resnet32x4-resnet8x4': Pair(
        'cls', (32, 32), 64, C + 'classifiers/resnet8x4_cifar100.py',
        {'mmrazor:cwd': C + 'mmrazor_cwd/cwd_stage2_resnet32x4_resnet8x4_cifar100.py',
         'M5': C + 'hybrid_attention/m5_resnet32x4_resnet8x4_cifar100.py'},
        tiny=(32, 32), classes=100),
}
TINY_BATCH = 2


# ------------------------------------------------------------------ synthetic batches
def det_sample(g, h, w, classes, with_boxes=True):
    from mmdet.structures import DetDataSample
    from mmengine.structures import InstanceData
    sample = DetDataSample(metainfo=dict(img_shape=(h, w), ori_shape=(h, w),
                                         pad_shape=(h, w), scale_factor=(1.0, 1.0),
                                         flip=False, img_id=0))
    if with_boxes:
        n = 5
        xy = torch.rand(n, 2, generator=g) * torch.tensor([w * 0.7, h * 0.7])
        wh = (0.1 + 0.2 * torch.rand(n, 2, generator=g)) * torch.tensor([w, h])
        sample.gt_instances = InstanceData(
            bboxes=torch.cat([xy, xy + wh], 1),
            labels=torch.randint(0, classes, (n, ), generator=g))
    else:
        sample.gt_instances = InstanceData(bboxes=torch.zeros(0, 4),
                                           labels=torch.zeros(0, dtype=torch.long))
    sample.ignored_instances = InstanceData(bboxes=torch.zeros(0, 4),
                                            labels=torch.zeros(0, dtype=torch.long))
    return sample


def seg_sample(g, h, w, classes):
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    sample = SegDataSample(metainfo=dict(img_shape=(h, w), ori_shape=(h, w),
                                         pad_shape=(h, w), flip=False))
    label = torch.randint(0, classes, (1, h // 16 + 1, w // 16 + 1), generator=g)
    label = label.repeat_interleave(16, 1).repeat_interleave(16, 2)[:, :h, :w]
    sample.gt_sem_seg = PixelData(data=label)
    return sample


def cls_sample(g, h, w, classes):
    from mmpretrain.structures import DataSample
    return DataSample().set_gt_label(int(torch.randint(0, classes, (1, ), generator=g)))


def synthetic_batch(pair, size, batch, seed=0, semi=False):
    """One batch in the form a training dataloader gives (before preprocessing)."""
    g = torch.Generator().manual_seed(seed)
    h, w = size

    def images(n):
        return [torch.randint(0, 256, (3, h, w), dtype=torch.uint8, generator=g)
                for _ in range(n)]
    if pair.kind == 'det':
        if semi:
            n_sup = max(1, batch // 2)
            n_unsup = max(1, batch - n_sup)
            return dict(inputs=dict(sup=images(n_sup), unsup=images(n_unsup)),
                        data_samples=dict(
                            sup=[det_sample(g, h, w, pair.classes) for _ in range(n_sup)],
                            unsup=[det_sample(g, h, w, pair.classes, with_boxes=False)
                                   for _ in range(n_unsup)]))
        samples = [det_sample(g, h, w, pair.classes) for _ in range(batch)]
    elif pair.kind == 'seg':
        samples = [seg_sample(g, h, w, pair.classes) for _ in range(batch)]
    else:
        samples = [cls_sample(g, h, w, pair.classes) for _ in range(batch)]
    return dict(inputs=images(batch), data_samples=samples)


# ------------------------------------------------------------------------- models
def prepare(cfg, size):
    """Random weights everywhere (no teacher checkpoint, no pretrained backbone: the
    weights do not change the cost, and nothing may be downloaded), and every data
    preprocessor that pads to a fixed size (mmseg's ``size``) pads to ``size``."""
    def walk(node, key=None):
        if isinstance(node, dict):
            if key == 'data_preprocessor' and node.get('size') is not None:
                node['size'] = tuple(size)
            for k in list(node):
                if k in ('teacher_ckpt', 'ckpt_path', 'pretrained'):
                    node[k] = None
                elif k == 'init_cfg' and isinstance(node[k], dict) and \
                        node[k].get('type') == 'Pretrained':
                    node[k] = None
                else:
                    walk(node[k], k)
        elif isinstance(node, (list, tuple)):
            for item in node:
                walk(item)
    if 'teacher_ckpt' in cfg:
        cfg.teacher_ckpt = None
    walk(cfg.model)
    return cfg


def build(path, work_dir, amp_dtype, size):
    from _common import read_config
    cfg = prepare(read_config(osp.join(ROOT, path), None, None, work_dir), size)
    if amp_dtype:
        use_amp(cfg, amp_dtype)
    runner, ow = iter_timing.runner_for(cfg)
    return runner.model, ow


def resident_bytes(model, ow):
    """Bytes a model holds between steps: weights, buffers, optimizer state."""
    tensors = {id(t): t for t in list(model.parameters()) + list(model.buffers())}
    wrappers = ow.values() if hasattr(ow, 'values') else [ow]
    for w in wrappers:
        for state in w.optimizer.state.values():
            tensors.update({id(t): t for t in state.values() if torch.is_tensor(t)})
    return sum(t.numel() * t.element_size() for t in tensors.values() if t.is_cuda)


def measure(name, pair, args, tmp):
    size = pair.tiny if args.cpu else pair.size
    batch = TINY_BATCH if args.cpu else pair.batch
    rounds = args.iters + args.warmup
    plain = synthetic_batch(pair, size, batch)
    semi = synthetic_batch(pair, size, batch, semi=True) if pair.semi else None
    models = {'student': build(pair.student, osp.join(tmp, 'student'), args.amp_dtype,
                               size)}
    for row, path in pair.methods.items():
        models[row] = build(path, osp.join(tmp, row.replace(':', '_')), args.amp_dtype,
                            size)
    med, floor, peaks, failed = iter_timing.time_models(
        models, lambda row, i: semi if row in pair.semi else plain, rounds, args.warmup)
    rows = []
    for row, (m, ow) in models.items():
        extra = {}
        if peaks[row] is not None:
            extra['peak_mem_mb'] = round((peaks[row] + resident_bytes(m, ow)) / 2**20, 1)
        r = dict(name=row, per_seed=[med[row]], mean=med[row], std=0.0, extra=extra)
        if row != 'student':
            r['time_per_iter_ratio'] = med[row] / med['student']
            if row in floor:
                r['overhead_vs_floor'] = med[row] / floor[row]
                extra['teacher_inference_s'] = med[f'{row}:teachers']
            else:
                extra['floor_error'] = failed.get(f'{row}:teachers')
        if 'peak_mem_mb' in extra:
            r['peak_mem_mb'] = extra['peak_mem_mb']
        rows.append(r)
    h, w = size
    return dict(
        task='cost', dataset=f'synthetic-{h}x{w}', split='synthetic',
        machine=args.machine,
        command='python tools/gpu/cost.py ' + ' '.join(sys.argv[1:]),
        date=datetime.date.today().isoformat(), metric='s_per_iter', lower_is_better=True,
        seeds=[0],
        pair=name, batch=batch, input_size=[h, w], iters=args.iters, warmup=args.warmup,
        amp=args.amp_dtype, device='cuda' if torch.cuda.is_available() else 'cpu',
        gpu=torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        torch=torch.__version__, notes=pair.notes, rows=rows)


def table(doc):
    lines = [f"### {doc['pair']}: {doc['dataset']}, batch {doc['batch']}"
             f"{', AMP ' + doc['amp'] if doc.get('amp') else ''} ({doc['machine']}, "
             f"{doc.get('gpu') or doc['device']})", '',
             '| row | s / iter | vs no-KD | vs floor | peak mem (MB) |',
             '|---|---:|---:|---:|---:|']
    if doc.get('failed'):
        return '\n'.join(lines[:1] + ['', f"FAILED: {doc['failed']}", ''])
    for r in doc['rows']:
        def f(v, fmt):
            return format(v, fmt) if v is not None else ''
        lines.append(f"| {r['name']} | {r['mean']:.4f} | "
                     f"{f(r.get('time_per_iter_ratio'), '.2f')} | "
                     f"{f(r.get('overhead_vs_floor'), '.2f')} | "
                     f"{f(r.get('peak_mem_mb'), '.0f')} |")
    if doc.get('notes'):
        lines += ['', doc['notes']]
    return '\n'.join(lines + [''])


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--out', required=True, help='folder for the JSON files and table')
    p.add_argument('--pairs', nargs='+', choices=sorted(PAIRS), default=list(PAIRS))
    p.add_argument('--iters', type=int, default=10, help='timed rounds (default 10)')
    p.add_argument('--warmup', type=int, default=3, help='untimed rounds first')
    p.add_argument('--machine', default='h200', help='machine tag of the file names')
    p.add_argument('--amp-dtype', choices=AMP_DTYPES, help='train under AMP (CUDA)')
    p.add_argument('--cpu', action='store_true',
                   help='dry run on the CPU: tiny inputs, batch 2, 1 round, machine cpu')
    args = p.parse_args(argv)
    if args.cpu:
        args.iters, args.warmup, args.machine = 1, 0, 'cpu-dry-run'
        if args.amp_dtype:
            p.error('--amp-dtype needs CUDA; not with --cpu')
    elif not torch.cuda.is_available():
        p.error('no CUDA device: run with --cpu for the dry run')
    if args.iters < 1 or args.warmup < 0:
        p.error('--iters must be >= 1 and --warmup >= 0')
    return args


def main(argv=None):
    args = parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    tables, ok = [], True
    for name in args.pairs:
        tmp = tempfile.mkdtemp(prefix=f'kd_cost_{name}_')
        try:
            doc = measure(name, PAIRS[name], args, tmp)
        except Exception as e:  # noqa: BLE001 - the other pairs still run
            ok = False
            traceback.print_exc()
            doc = dict(task='cost', pair=name, machine=args.machine,
                       failed=f'{type(e).__name__}: {e}')
        path = osp.join(args.out, f'cost-{name}-{args.machine}.json')
        atomic_write(path, json.dumps(doc, indent=2), mode='w')
        tables.append(table(doc))
        print(tables[-1], flush=True)
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    md = osp.join(args.out, f'cost-{args.machine}.md')
    atomic_write(md, '\n'.join([
        f'# Real-size cost per training iteration ({args.machine})', '',
        'Command: `python tools/gpu/cost.py ' + ' '.join(sys.argv[1:]) + '` '
        '(synthetic batches of the real input size; see the tool\'s docstring).', ''] +
        tables), mode='w')
    print(f'wrote {md}')
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
