"""The task specs of kd_plugins/benchmark/tasks/ against the real configs: metric readers
on real log lines, every row's resolved config (split, weights, checkpoints) and its
round trip through the file the run trains, the runs semi / data-free share with det /
cls, the data commands; tools/benchmark/iter_timing.py on real models (several
teachers, generator algorithms)."""
import json
import pickle
import subprocess
import sys

import pytest

from conftest import ROOT, cls_data_options, subprocess_env

from kd_plugins.benchmark import spec
from kd_plugins.benchmark.engine import Bench, Settings
from kd_plugins.benchmark.spec import (SCALES, TUNING_SEED, Ctx, config_text, lookup,
                                       resolve, row_options, sweep_keys)
from kd_plugins.benchmark.tasks import TASKS, cls, det, retrieval, seg

PREFIX = '11/25 00:40:51 - mmengine - INFO - '


def test_row_names_follow_the_result_format(validate_bench):
    for task in TASKS.values():
        for name in task.row_names():
            assert validate_bench.ROW.match(name), (task.name, name)


def test_detection_reader():
    text = (f'{PREFIX}Epoch(val) [8][25/25]    eta: 0:00:01  time: 0.04  data_time: 0.01\n'
            f'{PREFIX}Epoch(val) [8][25/25]    coco/circle_precision: 0.512  '
            'coco/square_precision: 0.3  coco/triangle_precision: nan  '
            'coco/bbox_mAP: 0.4120  coco/bbox_mAP_50: 0.7010  coco/bbox_mAP_75: 0.3  '
            'data_time: 0.0053  time: 0.0401\n')
    found = det.read_metrics(text, '')
    assert found['value'] == 0.412 and found['extra'] == {'AP50': 0.701}
    assert found['per_class'] == {'circle': 0.512, 'square': 0.3}
    assert det.read_metrics(f'{PREFIX}Epoch(train) [1][5/100] loss: 1.0\n', '') is None


def test_segmentation_reader_takes_the_class_table():
    text = '\n'.join([
        f'{PREFIX}per class results:', f'{PREFIX}',
        '+------------+-------+-------+-------+',
        '|   Class    |  IoU  |  Acc  |  Dice |',
        '+------------+-------+-------+-------+',
        '| background | 97.56 | 98.73 | 98.76 |',
        '|    cell    | 81.20 | 90.10 | 89.63 |',
        '|   gland    |  0.0  |  0.0  |  0.0  |',
        '+------------+-------+-------+-------+',
        f'{PREFIX}Iter(val) [100/100]    aAcc: 97.9000  mIoU: 59.5900  mAcc: 62.9400  '
        'mDice: 62.8000  bF: 55.1000  bF.background: 90.0000  data_time: 0.01  time: 0.02',
        ''])
    found = seg.read_metrics(text, '')
    assert found['value'] == pytest.approx(0.5959)
    assert found['extra'] == pytest.approx({'mDice': 0.628, 'boundary_F': 0.551})
    assert found['per_class'] == pytest.approx({'background': 0.9756, 'cell': 0.812,
                                                'gland': 0.0})


def test_retrieval_reader():
    text = (f'{PREFIX}Epoch(val) [60][5/5]    retrieval/R@1: 61.2500  retrieval/R@2: 70.0  '
            'retrieval/R@4: 80.0000  retrieval/R@8: 90.0000  retrieval/NMI: 55.5000  '
            'data_time: 0.0100  time: 0.0200\n')
    found = retrieval.read_metrics(text, '')
    assert found['value'] == pytest.approx(0.6125)
    assert found['extra'] == pytest.approx({'R@2': 0.7, 'R@4': 0.8, 'R@8': 0.9,
                                            'NMI': 0.555})
    assert found.get('per_class') is None


def test_classification_reader_counts_each_class_from_the_dumped_predictions(tmp_path):
    import torch
    samples = []
    for i, (gt, pred) in enumerate([(0, 0), (0, 1), (1, 1), (1, 1), (2, 0)]):
        name = ('checker', 'circle', 'cross')[gt]
        samples.append(dict(img_path=f'data/x/test/{name}/{i}.png',
                            gt_label=torch.tensor([gt]), pred_label=torch.tensor([pred]),
                            pred_score=torch.rand(3)))
    with open(tmp_path / 'predictions.pkl', 'wb') as f:
        pickle.dump(samples, f)
    text = f'{PREFIX}Epoch(val) [30][16/16]    accuracy/top1: 60.0000  data_time: 0.01\n'
    found = cls.read_metrics(text, str(tmp_path))
    assert found['value'] == pytest.approx(0.6)
    assert found['per_class'] == {'checker': 0.5, 'circle': 1.0, 'cross': 0.0}
    assert cls.EVALUATOR[1]['out_file_path'] == '{run_dir}/predictions.pkl'


@pytest.mark.parametrize('name', sorted(TASKS))
def test_every_row_resolves_to_a_config_evaluated_on_the_asked_split(name, tmp_path):
    """Every row (and teacher) with its options, schedule, split, a scaled weight and
    teacher checkpoints: the val loader points at the split, and the file the run
    trains reads back as the same config."""
    task = TASKS[name]
    root = task.data.root_at(1)
    todo = [(t.name, t.config, dict(task.base_options(root), **t.options), t.schedule,
             {}, None) for t in task.teachers]
    for row in task.rows:
        if row.derived_from:
            continue
        for config in spec.row_configs(row):
            opts = row_options(task, row, Ctx(root, 0))
            todo.append((row.name, config, opts, row.schedule or task.schedule,
                         {k: f'work/{v}.pth' for k, v in row.teachers.items()}, row))
    for label, config, opts, schedule, ckpts, row in todo:
        trees = {}
        for split in ('val', 'test'):
            o = dict(opts, **schedule.options(7), **task.split_options(root, split, 'val'),
                     **ckpts)
            if row is not None and row.distilling:
                start = resolve(config, opts).to_dict()
                o.update({k: lookup(start, k) * SCALES[-1]
                          for k in sweep_keys(row, start)})
            cfg = resolve(config, o)
            trees[split] = cfg.to_dict()
            path = tmp_path / f'{label.replace(":", "_")}-{split}.py'
            path.write_text(config_text(cfg))
            back = spec.load_config(str(path)).to_dict()
            assert back == trees[split], (label, split)
            for key, value in ckpts.items():
                assert lookup(back, key) == value
        val = json.dumps(trees['val']['val_dataloader'])
        test = json.dumps(trees['test']['val_dataloader'])
        assert val != test, label
        assert 'test' in test and 'test' not in val.replace('test_mode', ''), label
        assert root in json.dumps(trees['test']['val_dataloader']) or \
            root in json.dumps(trees['test'].get('test_dataloader', {})), label


def test_semi_and_data_free_reuse_the_runs_of_det_and_cls(tmp_path):
    def plan(name):
        bench = Bench(TASKS[name], Settings(work_dir=str(tmp_path)), say=lambda *a: None)
        bench.meta_sha = 'the same data'
        return bench.collect()

    def keys(p, row):
        return sorted(r.key for r in p.todo if r.row == row)

    det_plan, semi_plan = plan('det'), plan('semi')
    assert keys(det_plan, 'teacher') == keys(semi_plan, 'teacher')
    assert keys(det_plan, 'student') == keys(semi_plan, 'baseline:supervised-100pct')
    assert keys(det_plan, 'student') != keys(semi_plan, 'student')  # 10 % labeled
    labeled = [r for r in semi_plan.todo if r.row == 'student']
    assert [r.options['train_dataloader.dataset.ann_file'] for r in labeled] == [
        f'annotations/train.{s}@10.json' for s in (0, 1, 2)]
    cls_plan, df_plan = plan('cls'), plan('datafree')
    assert keys(cls_plan, 'teacher') == keys(df_plan, 'teacher')
    assert keys(cls_plan, 'student') == keys(df_plan, 'student')
    assert len(keys(cls_plan, 'student')) == 3


def test_data_commands_scale_the_sizes():
    [cmd] = det.DATA.commands(2, [TUNING_SEED, 0])
    sizes = {k: 2 * v for k, v in det.DATA.sizes.items()}
    assert cmd[1:] == ['tools/make_toy_data.py', 'det', '--out', 'data/bench/toy_det_x2',
                       *[str(a) for kv in sizes.items() for a in kv], '--overwrite']
    assert sizes['--num-train'] == 2 * det.NUM_TRAIN
    semi = TASKS['semi'].data.commands(1, [TUNING_SEED, 0, 1, 2])
    assert [c[-1] for c in semi[1:]] == ['100', '0', '1', '2']
    assert semi[1][2:8] == ['det-semi', '--ann', 'data/bench/toy_det/annotations/train.json',
                            '--percent', '10', '--seed']
    [ret] = retrieval.DATA.commands(3, [0])
    assert ret[ret.index('--imgs-per-class') + 1] == '90'
    assert ret[ret.index('--test-classes') + 1] == '20'


def timing(tmp_path, student, methods):
    """Run the timing tool on resolved config files, as the engine does: ``student`` and
    each of ``methods`` a (name, config, options) triple."""
    def write(name, config, opts):
        path = tmp_path / f'{name.replace(":", "_")}.py'
        path.write_text(config_text(resolve(config, opts)))
        return str(path)

    out = tmp_path / 'timing.json'
    cmd = [sys.executable, 'tools/benchmark/iter_timing.py', '--student', write(*student),
           '--iters', '1', '--warmup', '1', '--json', str(out)]
    for name, cfg, opts in methods:
        cmd += ['--method', f'{name}={write(name, cfg, opts)}']
    res = subprocess.run(cmd, cwd=ROOT, env=subprocess_env(), capture_output=True,
                         text=True, timeout=900)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    return json.loads(out.read_text())


@pytest.mark.slow
def test_iter_timing_floor_counts_every_teacher(toy_seg_root, tmp_path):
    # the benchmark's loaders (a worker each, persistent; an infinite sampler)
    opts = dict(seg.base_options(toy_seg_root), **{'train_dataloader.batch_size': 2})
    t = timing(tmp_path, ('student', seg.STUDENT_CFG, opts),
               [('M6', f'configs/multi_teacher/m6_{seg.PAIR}', opts)])
    sec = t['seconds_per_iter']
    assert set(sec) == {'student', 'M6'} and all(v > 0 for v in sec.values())
    assert t['floor_seconds']['M6'] == pytest.approx(sec['student'] +
                                                     t['teacher_inference']['M6'])
    assert t['overhead_vs_floor']['M6'] == pytest.approx(sec['M6'] /
                                                         t['floor_seconds']['M6'])
    assert t['own_batches'] == {'M6': False} and t['floor_errors'] == {}


@pytest.mark.slow
def test_iter_timing_runs_generator_algorithms_on_their_own_batches(toy_cls_root, tmp_path):
    opts = cls_data_options(toy_cls_root)
    evaluation = {k: v for k, v in opts.items() if not k.startswith('train_dataloader')}
    methods = [('M7', f'configs/dual_generator/m7_{cls.PAIR}', evaluation),
               ('mmrazor:dfad', f'configs/mmrazor_dfad/dfad_{cls.PAIR}',
                dict(evaluation, **{'train_dataloader.batch_size': 8}))]
    t = timing(tmp_path, ('student', cls.STUDENT_CFG, opts), methods)
    assert t['own_batches'] == {'M7': True, 'mmrazor:dfad': True}
    assert all(t['time_per_iter_ratio'][n] > 0 for n, _, _ in methods)
    assert set(t['floor_seconds']) == {'M7', 'mmrazor:dfad'} and t['floor_errors'] == {}
