"""Write a distillation config for a teacher / student pair (issue 22).

    python tools/make_distill_config.py --method cwd --student S.py --teacher T.py \
        --teacher-ckpt T.pth --out my_cwd.py [--input-size H W]
    mim run kd_plugins make_distill_config --method cwd --student S.py ...

Student and teacher: local config files or ``package::path`` (``mmdet::retinanet/
retinanet_r101_fpn_1x_coco.py``). Both models are built and probed on a batch of the
student's input size, the levels the method reads are paired, connectors added where
channels differ, and the config is written with a header that says what was chosen and
why (kd_plugins/autowire/writer.py lists the methods). A pair that cannot be wired, a
checkpoint that does not fit the teacher or an unknown method fails before anything is
written, naming the argument.
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from _common import ensure_importable  # noqa: E402

ensure_importable()


def parse_args(argv=None):
    from kd_plugins.autowire.writer import METHODS
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--method', required=True,
                        help=f'one of {", ".join(sorted(METHODS))}')
    parser.add_argument('--student', required=True, help='student config (or pkg::path)')
    parser.add_argument('--teacher', required=True, help='teacher config (or pkg::path)')
    parser.add_argument('--teacher-ckpt', required=True, help='local teacher checkpoint')
    parser.add_argument('--out', required=True, help='the config file to write')
    parser.add_argument('--input-size', type=int, nargs=2, metavar=('H', 'W'),
                        help="probe batch size (default: the student's test pipeline)")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    from kd_plugins.autowire import AutowireError
    from kd_plugins.autowire.writer import write_config
    try:
        text = write_config(args.method, args.student, args.teacher, args.teacher_ckpt,
                            out=args.out, input_size=args.input_size)
    except AutowireError as err:
        raise SystemExit(f'error: {err}') from None
    header = [line for line in text.splitlines() if line.startswith('#')]
    print('\n'.join(header))
    print(f'wrote {args.out}')


if __name__ == '__main__':
    main()
