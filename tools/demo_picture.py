"""Draw several detectors' detections side by side on a few images of a toy COCO split.

    python tools/demo_picture.py --out work_dirs/demo/detections.png --data data/toy_det \
        --model teacher CFG CKPT --model 'student (no KD)' CFG CKPT [--images 3]

One row per image (the first ``--images`` of the split, by image id), one column for the
ground truth and one per model: boxes scored at least ``--score-thr``, coloured by class,
with the class name and score. The models run on the CPU through mmdet's own inference
(the config's test pipeline).
"""
import argparse
import json
import os.path as osp
import sys

COLORS = ('#e6194b', '#3cb44b', '#4363d8', '#f58231', '#911eb4', '#42d4f4', '#f032e6')


def load_split(data, split, n):
    """``[(image path, [(x1, y1, x2, y2, label)])]`` of the first ``n`` images of
    ``data/annotations/<split>.json``; and the class names."""
    ann_file = osp.join(data, 'annotations', f'{split}.json')
    if not osp.isfile(ann_file):
        raise SystemExit(f'--data: {ann_file} is missing (make it with '
                         'tools/make_toy_data.py det)')
    with open(ann_file) as f:
        coco = json.load(f)
    cats = sorted(coco['categories'], key=lambda c: c['id'])
    index = {c['id']: i for i, c in enumerate(cats)}
    images = sorted(coco['images'], key=lambda im: im['id'])[:n]
    boxes = {im['id']: [] for im in images}
    for a in coco['annotations']:
        if a['image_id'] in boxes:
            x, y, w, h = a['bbox']
            boxes[a['image_id']].append((x, y, x + w, y + h, index[a['category_id']]))
    out = [(osp.join(data, split, im['file_name']), boxes[im['id']]) for im in images]
    return out, [c['name'] for c in cats]


def draw(images, columns, classes, out, score_thr=0.3):
    """``images``: ``[path]``; ``columns``: ``[(title, [[(x1, y1, x2, y2, label, score
    or None)] per image])]``. Writes the PNG ``out``."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    from PIL import Image
    rows, cols = len(images), len(columns)
    fig, axes = plt.subplots(rows, cols, figsize=(2.2 * cols, 2.3 * rows), squeeze=False)
    for r, path in enumerate(images):
        img = Image.open(path).convert('RGB')
        for c, (title, dets) in enumerate(columns):
            ax = axes[r][c]
            ax.imshow(img)
            ax.set_axis_off()
            if r == 0:
                ax.set_title(title, fontsize=8)
            for x1, y1, x2, y2, label, score in dets[r]:
                if score is not None and score < score_thr:
                    continue
                color = COLORS[label % len(COLORS)]
                ax.add_patch(plt.Rectangle((x1, y1), x2 - x1, y2 - y1, fill=False,
                                           edgecolor=color, linewidth=1.2))
                text = classes[label] if score is None else f'{classes[label]} {score:.2f}'
                ax.text(x1, y1 - 1, text, color='white', fontsize=5,
                        bbox=dict(facecolor=color, edgecolor='none', pad=0.5))
    fig.tight_layout()
    fig.savefig(out, dpi=90)
    plt.close(fig)


def detect(config, ckpt, images):
    """``[[(x1, y1, x2, y2, label, score)] per image]`` of one mmdet model."""
    from mmdet.apis import inference_detector, init_detector
    from mmdet.utils import register_all_modules
    register_all_modules()
    model = init_detector(config, ckpt, device='cpu')
    out = []
    for path in images:
        pred = inference_detector(model, path).pred_instances
        out.append([(*b, int(lab), float(s)) for b, lab, s in zip(
            pred.bboxes.tolist(), pred.labels.tolist(), pred.scores.tolist())])
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--out', required=True, help='PNG to write')
    parser.add_argument('--data', required=True, help='toy COCO folder')
    parser.add_argument('--split', default='val')
    parser.add_argument('--images', type=int, default=3, help='how many images (>= 1)')
    parser.add_argument('--score-thr', type=float, default=0.3)
    parser.add_argument('--model', nargs=3, action='append', required=True,
                        metavar=('TITLE', 'CONFIG', 'CKPT'))
    args = parser.parse_args(argv)
    if args.images < 1:
        parser.error('--images must be >= 1')
    for title, config, ckpt in args.model:
        for what, path in (('config', config), ('checkpoint', ckpt)):
            if not osp.isfile(path):
                parser.error(f'--model {title!r}: {what} {path} does not exist')
    samples, classes = load_split(args.data, args.split, args.images)
    paths = [p for p, _ in samples]
    columns = [('ground truth', [[(*b, None) for b in boxes] for _, boxes in samples])]
    columns += [(title, detect(config, ckpt, paths)) for title, config, ckpt in args.model]
    draw(paths, columns, classes, args.out, args.score_thr)
    print(osp.abspath(args.out))


if __name__ == '__main__':
    sys.exit(main())
