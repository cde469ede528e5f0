#!/usr/bin/env python
"""Generate the seeded toy datasets of :mod:`kd_plugins.datasets.toy_data`.

Examples (from the repository root)::

    python tools/make_toy_data.py det --out data/toy_det
    python tools/make_toy_data.py seg --out data/toy_seg --num-train 200
    python tools/make_toy_data.py cls --out data/toy_cls --num-train 50
    python tools/make_toy_data.py retrieval --out data/toy_retrieval \
        --num-classes 20 --imgs-per-class 40
    python tools/make_toy_data.py det-semi --ann data/toy_det/annotations/train.json \
        --percent 10 --seed 0     # labeled / unlabeled split files (mmdet naming)

For ``cls`` the counts are per class.  ``retrieval`` takes
``--num-classes`` / ``--imgs-per-class`` instead of split sizes (its splits
are class-disjoint: the first half of the classes is ``train``).

Re-running with identical arguments is a no-op; different arguments for an
existing ``--out`` need ``--overwrite``.
"""
import argparse
import importlib.util
import os
import os.path as osp
import sys
import time

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def load_toy_data():
    """Return the toy_data module without importing all of kd_plugins.

    ``import kd_plugins`` registers every model and needs the whole
    OpenMMLab stack; the generators only need numpy and Pillow, so the source
    file is loaded directly when this script runs from a checkout.  From an
    installed package (e.g. tools copied by mim) the normal import is used.
    """
    path = osp.join(REPO_ROOT, 'kd_plugins', 'datasets', 'toy_data.py')
    if osp.isfile(path):
        name = '_kd_plugins_toy_data'
        if name in sys.modules:
            return sys.modules[name]
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        return module
    try:
        import kd_plugins  # noqa: F401
    except ImportError:
        sys.path.insert(0, REPO_ROOT)
    from kd_plugins.datasets import toy_data
    return toy_data


def _int_at_least(minimum, maximum=None):

    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f'expected an integer, got {text!r}')
        if value < minimum:
            raise argparse.ArgumentTypeError(
                f'must be >= {minimum}, got {value}')
        if maximum is not None and value > maximum:
            raise argparse.ArgumentTypeError(
                f'must be <= {maximum}, got {value}')
        return value

    parse.__name__ = f'int>={minimum}'
    return parse


# kind -> (minimum --img-size, default --img-size)
IMG_SIZE = {
    'det': (32, 160),
    'seg': (32, 128),
    'cls': (16, 32),
    'retrieval': (32, 64),
}


def build_parser(max_classes=48):
    parser = argparse.ArgumentParser(
        description='Write a seeded toy dataset in OpenMMLab format.')
    sub = parser.add_subparsers(dest='kind', metavar='KIND')
    sub.required = True
    positive = _int_at_least(1)
    helps = {
        'det': 'COCO detection: 5 shape classes, small objects, clutter',
        'seg': 'mmseg segmentation: touching cells and glands',
        'cls': 'mmpretrain CustomDataset: 10 shape/texture classes',
        'retrieval': 'CUB-style retrieval with class-disjoint splits',
    }
    defaults = {'det': (800, 200), 'seg': (400, 100), 'cls': (100, 20)}
    for kind, (min_size, def_size) in IMG_SIZE.items():
        p = sub.add_parser(kind, help=helps[kind], description=helps[kind])
        p.add_argument('--out', required=True, help='output directory')
        if kind == 'retrieval':
            p.add_argument('--num-classes',
                           type=_int_at_least(2, max_classes), default=20,
                           help='number of classes (first half -> train, '
                           f'rest -> test; at most {max_classes})')
            p.add_argument('--imgs-per-class', type=_int_at_least(2),
                           default=40, help='images per class')
        else:
            per = ' per class' if kind == 'cls' else ''
            p.add_argument('--num-train', type=positive,
                           default=defaults[kind][0],
                           help=f'training images{per}')
            p.add_argument('--num-val', type=positive,
                           default=defaults[kind][1],
                           help=f'validation images{per}')
        p.add_argument('--img-size', type=_int_at_least(min_size),
                       default=def_size,
                       help=f'square image side in px (>= {min_size})')
        p.add_argument('--seed', type=_int_at_least(0), default=0,
                       help='random seed (>= 0)')
        p.add_argument('--overwrite', action='store_true',
                       help='replace an existing output generated with '
                       'other arguments')
    p = sub.add_parser('det-semi', help='split a COCO file into labeled / unlabeled',
                       description='Write <stem>.<seed>@<percent>.json (labeled) and '
                       '<stem>.<seed>@<percent>-unlabeled.json (no boxes) beside --ann.')
    p.add_argument('--ann', required=True, help='COCO annotation file to split')
    p.add_argument('--percent', type=float, default=10.0,
                   help='share of images that keep their labels, in (0, 100)')
    p.add_argument('--seed', type=_int_at_least(0), default=0,
                   help='random seed (>= 0)')
    return parser


def main(argv=None):
    toy = load_toy_data()
    parser = build_parser(toy.RETRIEVAL_MAX_CLASSES)
    args = parser.parse_args(argv)
    if args.kind == 'det-semi':
        try:
            res = toy.split_det_semi(args.ann, percent=args.percent, seed=args.seed)
        except ValueError as e:
            print(f'make_toy_data.py: error: {e}', file=sys.stderr)
            return 1
        print(f"det-semi: {res['num_labeled']} labeled imgs "
              f"({res['num_labeled_boxes']} boxes) -> {res['labeled']}, "
              f"{res['num_unlabeled']} unlabeled -> {res['unlabeled']}")
        return 0
    common = dict(img_size=args.img_size, seed=args.seed,
                  overwrite=args.overwrite)
    t0 = time.perf_counter()
    try:
        if args.kind == 'det':
            res = toy.make_det(args.out, num_train=args.num_train,
                               num_val=args.num_val, **common)
        elif args.kind == 'seg':
            res = toy.make_seg(args.out, num_train=args.num_train,
                               num_val=args.num_val, **common)
        elif args.kind == 'cls':
            res = toy.make_cls(args.out, num_train_per_class=args.num_train,
                               num_val_per_class=args.num_val, **common)
        else:
            res = toy.make_retrieval(args.out, num_classes=args.num_classes,
                                     imgs_per_class=args.imgs_per_class,
                                     **common)
    except ValueError as e:
        print(f'make_toy_data.py: error: {e}', file=sys.stderr)
        return 1
    seconds = time.perf_counter() - t0

    if args.kind == 'det':
        counts = (f"train {res['train']['num_images']} imgs / "
                  f"{res['train']['num_annotations']} boxes, val "
                  f"{res['val']['num_images']} imgs / "
                  f"{res['val']['num_annotations']} boxes")
    elif args.kind == 'seg':
        counts = (f"train {res['train']['num_images']} imgs, val "
                  f"{res['val']['num_images']} imgs")
    elif args.kind == 'cls':
        counts = (f"{len(res['classes'])} classes, train "
                  f"{res['train']['num_images']} imgs, val "
                  f"{res['val']['num_images']} imgs")
    else:
        counts = (f"{len(res['classes'])} classes, train "
                  f"{res['train']['num_images']} imgs "
                  f"({len(res['train']['classes'])} classes), test "
                  f"{res['test']['num_images']} imgs "
                  f"({len(res['test']['classes'])} classes)")
    state = 'up to date, skipped' if res['skipped'] else 'written'
    print(f"{args.kind}: {counts} -> {res['out_dir']} ({state}, "
          f'{seconds:.1f} s)')
    return 0


if __name__ == '__main__':
    sys.exit(main())
