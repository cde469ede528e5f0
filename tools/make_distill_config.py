"""Write a distillation config for a teacher / student pair (issue 22).

    python tools/make_distill_config.py --method M4 --student S.py --teacher T.py \
        --teacher-ckpt T.pth --out my_m4.py [--input-size H W] [--student-ckpt S.pth]
    python tools/make_distill_config.py --method M6 --student S.py \
        --teacher T1.py T2.py --teacher-ckpt T1.pth T2.pth --out my_m6.py
    mim run kd_plugins make_distill_config --method cwd --student S.py ...

Student and teacher: local config files or ``package::path`` (``mmdet::retinanet/
retinanet_r101_fpn_1x_coco.py``). Both models are built and probed on a batch of the
student's input size, the levels the method reads are paired, connectors added where
channels differ, and the config is written with a header that says what was chosen and
why (kd_plugins/autowire/writer.py and project_methods.py list the methods). The loss
weights of kd_plugins' methods (M1 M2 M4 M5 M6 M8) are set by the project's rule,
measured on two batches of the student's training data (kd_plugins/autowire/balance.py;
--no-measure keeps the start weights); MMRazor's baselines keep their published weights.
A pair that cannot be wired, a checkpoint that does not fit the teacher or an unknown
method fails before anything is written, naming the argument.
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from _common import ensure_importable  # noqa: E402

ensure_importable()


def parse_args(argv=None):
    from mmengine.config import DictAction
    from kd_plugins.autowire.writer import all_methods
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--method', required=True,
                        help=f'one of {", ".join(all_methods())}')
    parser.add_argument('--student', required=True, help='student config (or pkg::path)')
    parser.add_argument('--teacher', required=True, nargs='+',
                        help='teacher config (or pkg::path); several for M6')
    parser.add_argument('--teacher-ckpt', required=True, nargs='+',
                        help='local teacher checkpoint, one per teacher')
    parser.add_argument('--out', required=True, help='the config file to write')
    parser.add_argument('--input-size', type=int, nargs=2, metavar=('H', 'W'),
                        help="probe batch size (default: the student's test pipeline)")
    parser.add_argument('--student-ckpt',
                        help='measure the loss weights at this trained student')
    parser.add_argument('--no-measure', action='store_true',
                        help='keep the start loss weights (no batch of data is read)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default={},
                        help='options for the batches the weights are measured on '
                        '(e.g. train_dataloader.dataset.data_root=...); not written')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    from kd_plugins.autowire import AutowireError
    from kd_plugins.autowire.writer import write_config
    try:
        text = write_config(args.method, args.student, args.teacher, args.teacher_ckpt,
                            out=args.out, input_size=args.input_size,
                            measure=not args.no_measure, student_ckpt=args.student_ckpt,
                            options=args.cfg_options)
    except AutowireError as err:
        raise SystemExit(f'error: {err}') from None
    header = [line for line in text.splitlines() if line.startswith('#')]
    print('\n'.join(header))
    print(f'wrote {args.out}')


if __name__ == '__main__':
    main()
