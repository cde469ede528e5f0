"""tools/compare.py (kd_plugins/benchmark/compare.py): the configs written for the user's
pair, the comparison run by the engine (fake runner: every run's schedule, split and
weights; the ranked table, the recommendation and its chosen config; resume; the
launcher), bad input named before any training, and one real comparison on the toy
classifiers."""
import json
import os
import os.path as osp
import re

import pytest
import torch
from mmengine.config import Config

from conftest import CONFIGS, cls_data_options
from kd_plugins.autowire import build_model, load_config
from kd_plugins.benchmark import compare

CLS_T = osp.join(CONFIGS, 'classifiers', 'wrn-16-2_toy-cls.py')
CLS_S = osp.join(CONFIGS, 'classifiers', 'resnet8_toy-cls.py')
# test scores of the fake runs, and the val score of each sweep scale
TEST = {'teacher': 0.9, 'student': 0.60, 'M5': 0.66, 'mmrazor:dkd': 0.62}
SWEEP = {'M5': {0.25: 0.5, 1: 0.55, 4: 0.6}, 'mmrazor:dkd': {0.25: 0.6, 1: 0.5, 4: 0.4}}
NOISE = {0: 0.0, 1: 0.01, 2: -0.005}


class FakeRunner:
    """Writes the log line a real run would leave (``key: value``, accuracy in percent
    by default), records calls."""

    def __init__(self, key='accuracy/top1', scale=100):
        self.calls, self.key, self.scale = [], key, scale

    def __call__(self, run, env, on_progress):
        self.calls.append(run)
        os.makedirs(osp.dirname(run.log), exist_ok=True)
        if run.kind == 'timing':
            names = [a.split('=')[0] for a in run.commands[0] if '=' in a]
            with open(osp.join(run.dir, 'timing.json'), 'w') as f:
                json.dump(dict(iters=2, seconds_per_iter=dict(student=0.1, **{
                    n: 0.2 for n in names}), time_per_iter_ratio={n: 2.0 for n in names},
                    overhead_vs_floor={n: 1.1 for n in names}), f)
            return 0, 1.0, 50.0
        if run.split == 'val' and run.row in SWEEP:
            v = SWEEP[run.row][run.scale]
        else:  # rows without a table entry score 0.3
            v = TEST.get(run.row, 0.3) + NOISE.get(run.seed, 0.0)
        with open(run.log, 'w') as f:
            f.write(f'11/30 16:00:00 - mmengine - INFO - Iter(val) [60/60]    '
                    f'{self.key}: {self.scale * v:.4f}  data_time: 0.0100  '
                    'time: 0.0200\n')
        if run.checkpoint:
            open(run.checkpoint, 'w').close()
        return 0, 3.0, 100.0

    def train(self):
        return [r for r in self.calls if r.kind == 'train']


@pytest.fixture(scope='module')
def pair(tmp_path_factory, toy_cls_root):
    """A teacher checkpoint (untrained weights) and the options for the toy data."""
    folder = tmp_path_factory.mktemp('pair')
    ckpt = str(folder / 't.pth')
    torch.save(dict(state_dict=build_model(load_config(CLS_T)).state_dict()), ckpt)
    opts = cls_data_options(toy_cls_root, batch_size=8)
    return ckpt, [f'{k}={v}' for k, v in opts.items()]


def argv(pair, work, *extra, methods='M5,dkd', iters='60'):
    ckpt, opts = pair
    return ['--student', CLS_S, '--teacher', CLS_T, '--teacher-ckpt', ckpt, '--methods',
            methods, '--iters', iters, '--work-dir', str(work), *extra,
            '--cfg-options', *opts]


def test_a_comparison_ranks_recommends_and_resumes(pair, tmp_path):
    runner, work = FakeRunner(), tmp_path / 'work'
    lines = []
    assert compare.main(argv(pair, work), runner=runner, say=lines.append) == 0
    train = runner.train()
    # teacher scored once, never trained; student on 3 seeds; each method 3 + 3 runs
    assert [r.kind for r in runner.calls].count('test') == 1
    assert sorted((r.row, r.split, r.scale) for r in train if r.row != 'student') == \
        sorted([(row, 'val', s) for row in SWEEP for s in (0.25, 1, 4)]
               + [(row, 'test', c) for row, c in (('M5', 4), ('mmrazor:dkd', 0.25))
                  for _ in range(3)])
    for run in train:  # the same budget for every run: 60 iterations, warm-up 6
        assert run.cfg.train_cfg.max_iters == 60 and run.cfg.train_cfg.type == \
            'IterBasedTrainLoop'
        assert run.cfg.param_scheduler[0].end == 6 and run.cfg.param_scheduler[1].end == 60
        prefix = run.cfg.val_dataloader.dataset.data_prefix
        assert prefix == ('val' if run.split == 'val' else 'test')
    m5 = [r for r in train if r.row == 'M5' and r.split == 'test'][0]
    written = Config.fromfile(str(work / 'configs' / 'M5.py'))
    key = 'model.distiller.distill_losses.loss_kd.loss_weight'
    assert m5.options[key] == pytest.approx(4 * written.model.distiller.distill_losses
                                            .loss_kd.loss_weight)
    assert m5.options['model.teacher_ckpt'] == pair[0]
    md = (work / 'compare.md').read_text()
    ranked = re.findall(r'^\| (\d) \| (\S+) \|', md, re.M)
    assert ranked == [('1', 'M5'), ('2', 'mmrazor:dkd'), ('3', 'student')]
    assert '| | teacher (given) | 0.9000 |' in md
    assert re.search(r'\| 1 \| M5 \| 0\.66\d+ ± 0\.00\d+ \| \+0\.0600 ± 0\.0000 \| '
                     r'0\.6000 \| x4 \| 0\.200 \(2\.00x\) \|', md)
    doc = json.loads((work / 'compare.json').read_text())
    rec = doc['recommendation']
    assert rec['row'] == 'M5' and rec['beats_student'] and rec['scale'] == 4
    chosen = Config.fromfile(rec['chosen_config'])
    assert chosen.model.distiller.distill_losses.loss_kd.loss_weight == \
        pytest.approx(m5.options[key])
    assert chosen.model.distiller.distill_losses.loss_ha0.type == 'HybridAttentionLoss'
    assert any(line.startswith('Recommended: M5') for line in lines)
    assert (work / 'compare.png').stat().st_size > 0
    # resume: everything cached, nothing runs again; the configs are not rewritten
    again = FakeRunner()
    assert compare.main(argv(pair, work), runner=again, say=lines.append) == 0
    assert again.calls == []
    assert any('written before, same inputs' in line for line in lines)


def test_a_smaller_sweep_fewer_seeds_and_the_pytorch_launcher(pair, tmp_path):
    runner = FakeRunner()
    assert compare.main(argv(pair, tmp_path, '--sweep', '1', '--seeds', '0',
                             '--launcher', 'pytorch', '--gpus', '2', methods='dkd'),
                        runner=runner, say=lambda m: None) == 0
    train = runner.train()
    assert sorted((r.row, r.split, r.scale) for r in train) == [
        ('mmrazor:dkd', 'test', 1), ('mmrazor:dkd', 'val', 1), ('student', 'test', None)]
    for run in train:
        cmd = run.commands[0]
        assert cmd[1:5] == ['-m', 'torch.distributed.run', '--standalone',
                            '--nproc_per_node=2']
        assert cmd[-2:] == ['--launcher', 'pytorch']


@pytest.mark.parametrize('kind', ['detection', 'segmentation'])
def test_a_comparison_on_the_codebases_own_configs(kind, tmp_path, request):
    """mmdet's RetinaNet R-50 -> R-18 (M2, cwd) and mmseg's FCN R-50 -> R-18 (M6),
    shrunk to the toy data with --cfg-options only: the options reach the student and
    teacher configs and through them the written ones (the teacher checkpoint of the
    shrunk teacher fits), the runs score the task's metric."""
    from kd_plugins.autowire import load_config
    from kd_plugins.datasets.toy import cityscapes_config_options, coco_config_options
    if kind == 'detection':
        student, teacher = ('mmdet::retinanet/retinanet_r18_fpn_1x_coco.py',
                            'mmdet::retinanet/retinanet_r50_fpn_1x_coco.py')
        opts = coco_config_options(request.getfixturevalue('toy_det_root'))
        methods, runner, rows = 'M2,cwd', FakeRunner('coco/bbox_mAP', 1), \
            {'M2', 'mmrazor:cwd'}
    else:
        student, teacher = ('mmseg::fcn/fcn_r18-d8_4xb2-80k_cityscapes-512x1024.py',
                            'mmseg::fcn/fcn_r50-d8_4xb2-80k_cityscapes-512x1024.py')
        opts = cityscapes_config_options(request.getfixturevalue('toy_seg_root'))
        methods, runner, rows = 'M6', FakeRunner('mIoU', 100), {'M6'}
    opts.update({f'{loader}_dataloader.{k}': v for loader in ('train', 'val', 'test')
                 for k, v in (('num_workers', 0), ('persistent_workers', False),
                              ('batch_size', 2))})
    t_cfg = load_config(teacher)
    t_cfg.merge_from_dict(opts)
    ckpt = str(tmp_path / 't.pth')
    torch.save(dict(state_dict=build_model(t_cfg).state_dict()), ckpt)
    work = tmp_path / 'work'
    assert compare.main(['--student', student, '--teacher', teacher, '--teacher-ckpt',
                         ckpt, '--methods', methods, '--iters', '50', '--sweep', '1',
                         '--seeds', '0', '--work-dir', str(work), '--cfg-options',
                         *[f'{k}={v}' for k, v in opts.items()]], runner=runner,
                        say=lambda m: None) == 0
    for run in runner.train():
        head = run.cfg.model.get('architecture', run.cfg.model)
        classes = head.bbox_head.num_classes if kind == 'detection' else \
            head.decode_head.num_classes
        assert classes == (5 if kind == 'detection' else 4)
    doc = json.loads((work / 'compare.json').read_text())
    assert {r['name'] for r in doc['rows']} == {'teacher', 'student'} | rows
    assert doc['metric'] == ('bbox_mAP' if kind == 'detection' else 'mIoU')


@pytest.mark.parametrize('change, message', [
    (dict(methods='M5,nope'), r"--methods nope: method: 'nope' is not one"),
    (dict(methods='M1'), r"--methods: \['M1'\] do not serve classification; for "
     r"classification: \['M5', 'at', 'dkd'\]"),
    (dict(teacher=osp.join(CONFIGS, 'detectors',
                           'yolov3_mobilenetv2-w100_8xb8-12e_toy-det.py')),
     '--student / --teacher: the student is a classification model and the teacher a '
     'detection one'),
    (dict(ckpt='missing.pth'), r"--teacher-ckpt: checkpoint file 'missing.pth' not "
     'found'),
    (dict(iters='10'), '--iters 10 is below what one sweep needs: at least 50'),
    (dict(no_val=True), 'student: the config has no val split'),
])
def test_bad_input_fails_before_training_naming_the_argument(pair, tmp_path, capsys,
                                                             change, message):
    args = argv(pair, tmp_path / 'work', methods=change.get('methods', 'M5,dkd'),
                iters=change.get('iters', '60'))
    if 'teacher' in change:
        args[args.index('--teacher') + 1] = change['teacher']
    if 'ckpt' in change:
        args[args.index('--teacher-ckpt') + 1] = change['ckpt']
    if change.get('no_val'):
        student = tmp_path / 'no_val.py'
        student.write_text(f'_base_ = [{CLS_S!r}]\nval_dataloader = None\n'
                           'val_evaluator = None\nval_cfg = None\n')
        args[args.index('--student') + 1] = str(student)
    runner = FakeRunner()
    with pytest.raises(SystemExit) as info:
        compare.main(args, runner=runner, say=lambda m: None)
    assert info.value.code == 2
    assert re.search(message, capsys.readouterr().err)
    assert runner.calls == []


def test_iters_below_a_methods_warm_up_are_refused(tmp_path, toy_retrieval_root, capsys):
    """M8's feedback warms up over 100 iterations: a comparison needs twice that."""
    t_cfg = osp.join(CONFIGS, 'metric_embedders', 'wrn-16-2-512d_toy-retrieval.py')
    s_cfg = osp.join(CONFIGS, 'metric_embedders', 'resnet8x0.5-128d_toy-retrieval.py')
    ckpt = str(tmp_path / 't.pth')
    torch.save(dict(state_dict=build_model(load_config(t_cfg)).state_dict()), ckpt)
    opts = dict(cls_data_options(toy_retrieval_root, batch_size=8),
                **{'train_dataloader.sampler.batch_size': 8})
    runner = FakeRunner()
    with pytest.raises(SystemExit) as info:
        compare.main(['--student', s_cfg, '--teacher', t_cfg, '--teacher-ckpt', ckpt,
                      '--methods', 'rkd,M8', '--iters', '120', '--work-dir',
                      str(tmp_path / 'work'), '--cfg-options',
                      *[f'{k}={v}' for k, v in opts.items()]], runner=runner,
                     say=lambda m: None)
    assert info.value.code == 2 and runner.calls == []
    assert "--iters 120 is below what one sweep needs: M8's model.feedback_warmup_iters " \
        'is 100 iterations; a run needs twice that, 200' in capsys.readouterr().err


@pytest.mark.slow
def test_a_real_comparison_on_the_toy_classifiers(pair, tmp_path):
    """Every run trains and tests for real (one method, no sweep, one seed)."""
    work = tmp_path / 'work'
    lines = []
    assert compare.main(argv(pair, work, '--sweep', '1', '--seeds', '0', '--jobs', '2',
                             methods='dkd'), say=lines.append) == 0
    doc = json.loads((work / 'compare.json').read_text())
    rows = {r['name']: r for r in doc['rows']}
    assert set(rows) == {'teacher', 'student', 'mmrazor:dkd'}
    assert all(0 <= r['mean'] <= 1 for r in rows.values())
    assert doc['recommendation']['row'] == 'mmrazor:dkd'
    assert any(re.search(r'\[compare mmrazor:dkd x1 s0 test\] iter \d+/60 .* ETA', line)
               for line in lines)
