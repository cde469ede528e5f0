#!/usr/bin/env python
"""Generate the seeded toy datasets of :mod:`kd_plugins.datasets.toy`.

Examples (from the repository root)::

    python tools/make_toy_data.py det --out data/toy_det
    python tools/make_toy_data.py seg --out data/toy_seg --num-train 200 --num-test 50
    python tools/make_toy_data.py cls --out data/toy_cls --num-train 50
    python tools/make_toy_data.py retrieval --out data/toy_retrieval \
        --train-classes 20 --val-classes 20 --test-classes 20 --imgs-per-class 30
    python tools/make_toy_data.py det-semi --ann data/toy_det/annotations/train.json \
        --percent 10 --seed 0     # labeled / unlabeled split files (mmdet naming)

Every kind writes disjoint ``train`` / ``val`` / ``test`` splits. For ``cls`` the
counts are per class. ``retrieval`` takes ``--train-classes`` / ``--val-classes`` /
``--test-classes`` / ``--imgs-per-class`` instead of split sizes (its splits are
class-disjoint: the first classes train, the next ones val, the last ones test).

Re-running with identical arguments is a no-op; different arguments for an
existing ``--out`` need ``--overwrite``.
"""
import argparse
import os.path as osp
import sys
import time

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from _jobs import load_folder  # noqa: E402

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
SPLITS = ('train', 'val', 'test')


def load_toy():
    """Return the toy-data package without importing all of kd_plugins.

    ``import kd_plugins`` registers every model and needs the whole
    OpenMMLab stack; the generators only need numpy and Pillow, so the package
    folder is loaded directly (under a private name) when this script runs from a
    checkout.  From an installed package (e.g. tools copied by mim) the normal
    import is used.
    """
    module = load_folder(osp.join(REPO_ROOT, 'kd_plugins', 'datasets', 'toy'),
                         '_kd_plugins_toy')
    if module is not None:
        return module
    try:
        import kd_plugins  # noqa: F401
    except ImportError:
        sys.path.insert(0, REPO_ROOT)
    from kd_plugins.datasets import toy
    return toy


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
# kind -> default --num-train, --num-val, --num-test (per class for cls)
SPLIT_SIZES = {'det': (800, 200, 200), 'seg': (400, 100, 100), 'cls': (100, 20, 20)}
RETRIEVAL_DEFAULTS = dict(train_classes=20, val_classes=20, test_classes=20,
                          imgs_per_class=30)
RETRIEVAL_CLASS_FLAGS = '--train-classes + --val-classes + --test-classes'


def build_parser(max_classes=144):
    parser = argparse.ArgumentParser(
        description='Write a seeded toy dataset in OpenMMLab format.')
    sub = parser.add_subparsers(dest='kind', metavar='KIND')
    sub.required = True
    positive = _int_at_least(1)
    parser.kind_parsers = {}  # kind -> its sub-parser (for errors after parsing)
    helps = {
        'det': 'COCO detection: 5 shape classes, 1-5 objects per image, some clutter',
        'seg': 'mmseg segmentation: touching cells, glands, thin vessels',
        'cls': 'mmpretrain CustomDataset: 10 shape/texture classes',
        'retrieval': 'CUB-style retrieval with class-disjoint train/val/test',
    }
    for kind, (min_size, def_size) in IMG_SIZE.items():
        p = sub.add_parser(kind, help=helps[kind], description=helps[kind])
        parser.kind_parsers[kind] = p
        p.add_argument('--out', required=True, help='output directory')
        if kind == 'retrieval':
            classes = _int_at_least(1, max_classes)
            for split in SPLITS:
                p.add_argument(f'--{split}-classes', type=classes,
                               default=RETRIEVAL_DEFAULTS[f'{split}_classes'],
                               help=f'number of {split} classes (the three '
                               f'together at most {max_classes})')
            p.add_argument('--imgs-per-class', type=_int_at_least(2),
                           default=RETRIEVAL_DEFAULTS['imgs_per_class'],
                           help='images per class')
            # replaced by the three flags above; kept only to say so
            p.add_argument('--num-classes', help=argparse.SUPPRESS)
        else:
            per = ' per class' if kind == 'cls' else ''
            for split, default in zip(SPLITS, SPLIT_SIZES[kind]):
                p.add_argument(f'--num-{split}', type=positive, default=default,
                               help=f'{split} images{per}')
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


def parse_args(parser, argv, max_classes):
    args = parser.parse_args(argv)
    if args.kind == 'retrieval':
        sub = parser.kind_parsers['retrieval']
        if args.num_classes is not None:
            sub.error('--num-classes was replaced by --train-classes, --val-classes '
                      'and --test-classes (class-disjoint train / val / test)')
        total = args.train_classes + args.val_classes + args.test_classes
        if total > max_classes:
            sub.error(f'{RETRIEVAL_CLASS_FLAGS} must be <= {max_classes}, got '
                      f'{args.train_classes} + {args.val_classes} + '
                      f'{args.test_classes} = {total}')
    return args


def _counts(kind, res):
    if kind == 'det':
        return ', '.join(f"{s} {res[s]['num_images']} imgs / "
                         f"{res[s]['num_annotations']} boxes" for s in SPLITS)
    if kind == 'seg':
        return ', '.join(f"{s} {res[s]['num_images']} imgs" for s in SPLITS)
    if kind == 'cls':
        return f"{len(res['classes'])} classes, " + ', '.join(
            f"{s} {res[s]['num_images']} imgs" for s in SPLITS)
    return f"{len(res['classes'])} classes, " + ', '.join(
        f"{s} {res[s]['num_images']} imgs ({len(res[s]['classes'])} classes)"
        for s in SPLITS)


def main(argv=None):
    toy = load_toy()
    parser = build_parser(toy.RETRIEVAL_MAX_CLASSES)
    args = parse_args(parser, argv, toy.RETRIEVAL_MAX_CLASSES)
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
        if args.kind in ('det', 'seg'):
            maker = toy.make_det if args.kind == 'det' else toy.make_seg
            res = maker(args.out, num_train=args.num_train, num_val=args.num_val,
                        num_test=args.num_test, **common)
        elif args.kind == 'cls':
            res = toy.make_cls(args.out, num_train_per_class=args.num_train,
                               num_val_per_class=args.num_val,
                               num_test_per_class=args.num_test, **common)
        else:
            res = toy.make_retrieval(args.out, num_train_classes=args.train_classes,
                                     num_val_classes=args.val_classes,
                                     num_test_classes=args.test_classes,
                                     imgs_per_class=args.imgs_per_class,
                                     **common)
    except ValueError as e:
        print(f'make_toy_data.py: error: {e}', file=sys.stderr)
        return 1
    seconds = time.perf_counter() - t0
    state = 'up to date, skipped' if res['skipped'] else 'written'
    print(f"{args.kind}: {_counts(args.kind, res)} -> {res['out_dir']} ({state}, "
          f'{seconds:.1f} s)')
    return 0


if __name__ == '__main__':
    sys.exit(main())
