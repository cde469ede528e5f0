"""kd_plugins/benchmark/ spec.py, engine.py, report.py and cli.py with a fake runner (no
training): spec validation, the sweep on val and the seeds on test, the cache, resume,
failures, the paired statistics, calibration, the v2 file (checked by
../shared/tools/validate_bench.py) and two runs at a time."""
import dataclasses
import json
import math
import os
import os.path as osp
import re
import threading
import time

import pytest

from kd_plugins.benchmark import cli, engine, report
from kd_plugins.benchmark.engine import Bench, Results, Settings
from kd_plugins.benchmark.spec import (TEACHER, Data, Row, Schedule, SpecError, Task,
                                       Teacher, classes_learned, student_std,
                                       teacher_minus_student, validate)
from kd_plugins.benchmark.tasks import det

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

COMMON = """
train_dataloader = dict(batch_size=2, dataset=dict(data_root='x/', ann_file='train.json'))
val_dataloader = dict(dataset=dict(data_root='x/', ann_file='val.json'))
test_dataloader = dict(dataset=dict(data_root='x/', ann_file='test.json'))
val_evaluator = dict(type='FakeMetric', ann_file='x/val.json')
test_evaluator = dict(type='FakeMetric', ann_file='x/test.json')
train_cfg = dict(max_epochs=4, val_interval=1)
param_scheduler = [dict(type='LinearLR'), dict(type='CosineAnnealingLR', end=4, T_max=4)]
default_hooks = dict(checkpoint=dict(interval=1))
"""
CONFIGS = {
    'teacher.py': "model = dict(type='Net', width=8)\n",
    'student.py': "model = dict(type='Net', width=2)\n",
    # ours: the sweep scales every distill_losses.*.loss_weight
    'kd_a.py': "teacher_ckpt = None\nmodel = dict(type='KD', teacher_ckpt=None, distiller="
               "dict(distill_losses=dict(loss_a=dict(loss_weight=2.0), "
               "loss_b=dict(loss_weight=0.5))))\n",
    # a baseline: its sweep_weights variable names what the sweep scales
    'kd_b.py': "model = dict(type='KD', teacher_ckpt=None, alpha=1.0, distiller=dict("
               "distill_losses=dict(loss_c=dict(loss_weight=7.0))))\n"
               "sweep_weights = ['model.alpha']\n",
}
# val score of each sweep scale: M1's best is x4; mmrazor:x ties x0.25 and x1 (-> x1)
SWEEP = {'M1': {0.25: 0.30, 1: 0.32, 4: 0.36}, 'mmrazor:x': {0.25: 0.34, 1: 0.34, 4: 0.30}}
TEST = {'teacher': 0.60, 'student': 0.30, 'M1': 0.36, 'mmrazor:x': 0.33}
NOISE = {0: 0.0, 1: 0.01, 2: -0.005}


class FakeRunner:
    """Writes what a real run would leave (log, checkpoint, meta.json, timing.json) from
    seeded values, records every call; ``fail(run)``: that run exits 1."""

    def __init__(self, fail=lambda run: False, sleep=0.0, test=None, stop_after=None):
        self.calls, self.fail, self.sleep = [], fail, sleep
        self.test = dict(TEST, **(test or {}))
        self.active = self.max_active = 0
        self.stop_after = stop_after
        self.lock = threading.Lock()

    def value(self, run):
        if run.split == 'val' and run.row in SWEEP:
            return SWEEP[run.row][run.scale]
        return self.test[run.row] + NOISE.get(run.seed, 0.0)

    def __call__(self, run, env, on_progress):
        with self.lock:
            if self.stop_after is not None and len(self.calls) >= self.stop_after:
                raise KeyboardInterrupt
            self.calls.append(dict(kind=run.kind, tag=run.tag, row=run.row, seed=run.seed,
                                   split=run.split, scale=run.scale,
                                   options=dict(run.options),
                                   threads=env['OMP_NUM_THREADS']))
            self.active += 1
            self.max_active = max(self.max_active, self.active)
        try:
            time.sleep(self.sleep)
            os.makedirs(osp.dirname(run.log), exist_ok=True)
            if run.kind == 'data':
                out = run.commands[0][run.commands[0].index('--out') + 1]
                os.makedirs(out, exist_ok=True)
                with open(osp.join(out, 'meta.json'), 'w') as f:
                    json.dump(dict(kind='det', args=dict(n=1), stats={}), f)
                return 0, 0.1, 10.0
            if run.kind == 'timing':
                names = [a.split('=')[0] for a in run.commands[0] if '=' in a]
                with open(osp.join(run.dir, 'timing.json'), 'w') as f:
                    json.dump(dict(iters=2, threads=2, device='cpu',
                                   seconds_per_iter=dict(student=0.1),
                                   time_per_iter_ratio={n: 1.5 for n in names},
                                   overhead_vs_floor={n: 1.1 for n in names},
                                   floor_seconds={n: 0.13 for n in names}), f)
                return 0, 1.0, 50.0
            if on_progress is not None:
                on_progress(dict(epoch=1, iter=1, iters=5, eta='0:00:01', loss=1.0))
            v = self.value(run)
            mode = 'val' if run.kind == 'train' else 'test'
            with open(run.log, 'w') as f:
                f.write(f'11/25 00:40:51 - mmengine - INFO - Epoch({mode}) [2][5/5]    '
                        f'coco/bbox_mAP: {v:.4f}  coco/bbox_mAP_50: {v + 0.2:.4f}  '
                        f'coco/circle_precision: {v - 0.1:.3f}  '
                        f'coco/square_precision: {v + 0.1:.3f}  data_time: 0.0100  '
                        'time: 0.0200\n')
            if run.checkpoint:
                open(run.checkpoint, 'w').close()
            return (1 if self.fail(run) else 0), 60.0 * (run.seed or 1) / 10, 100.0
        finally:
            with self.lock:
                self.active -= 1

    def train(self, **match):
        return [c for c in self.calls if c['kind'] == 'train'
                and all(c[k] == v for k, v in match.items())]


@pytest.fixture
def fake(tmp_path):
    """A small task over config files in tmp_path; returns (task, settings, folder)."""
    folder = tmp_path / 'configs'
    folder.mkdir()
    for name, text in CONFIGS.items():
        (folder / name).write_text(text + COMMON)
    (tmp_path / 'readme').mkdir()
    (tmp_path / 'readme' / 'README.md').write_text(
        '# M1\n\n<!-- benchmark:detection-toy-fake-test -->\nold\n<!-- /benchmark -->\n')

    def split(root, split, loader):
        return {f'{loader}_dataloader.dataset.ann_file': f'{split}.json',
                f'{loader}_evaluator.ann_file': f'{root}/{split}.json'}

    task = Task(
        name='fake', task='detection', dataset='toy-fake', metric='bbox_mAP',
        data=Data('det', str(tmp_path / 'data'), sizes={'--num-train': 10}),
        base_options=lambda root: {'train_dataloader.dataset.data_root': root + '/'},
        split_options=split, read_metrics=det.read_metrics,
        teachers=(Teacher('teacher', str(folder / 'teacher.py'), Schedule(4)), ),
        schedule=Schedule(2),
        rows=(Row('student', str(folder / 'student.py')),
              Row('M1', str(folder / 'kd_a.py'), TEACHER, readme=str(tmp_path / 'readme')),
              Row('mmrazor:x', str(folder / 'kd_b.py'), TEACHER)),
        checks=(teacher_minus_student(0.2), student_std(0.05), classes_learned(0.1)))
    settings = Settings(work_dir=str(tmp_path / 'work'), out=str(tmp_path / 'out'),
                        machine='test', command='python tools/benchmark/run.py fake',
                        summary_readme=str(tmp_path / 'README.md'), cores=4, jobs=2)
    return task, settings, tmp_path


def execute(task, settings, runner):
    bench = Bench(task, settings, runner, say=lambda *a: None)
    plan = bench.execute()
    return bench, plan, Results(task, settings, plan, bench.meta)


def publish_valid(task, settings, runner, tmp, validate_bench):
    """Run ``task`` with the fake runner, publish it, check the result file with the
    protocol's validator; the rows by name."""
    _, _, results = execute(task, settings, runner)
    doc = report.publish(results, say=lambda *a: None)
    path = tmp / 'out' / 'results' / 'detection-toy-fake-test.json'
    assert validate_bench.check(str(path), v2=True) == []
    return {r['name']: r for r in doc['rows']}


# ------------------------------------------------------------------- validation
@pytest.mark.parametrize('change, words', [
    (dict(rows=(Row('student', 'nope/student.py'), )), ["row 'student'", 'config',
                                                        'nope/student.py']),
    (dict(metric='bbox_map50'), ['metric', "'bbox_map50'"]),
    (dict(rows=(Row('student', 'S'), Row('M9', 'S'))), ["row 'M9'", 'name']),
    (dict(rows=(Row('student', 'S'), Row('M1', 'A', {'model.teacher_ckpt': 'big'}))),
     ["row 'M1'", 'teachers', "'big'"]),
    (dict(rows=(Row('student', 'S'), Row('M1', 'A', TEACHER, sweep_keys=(
        'model.distiller.distill_losses.loss_z.loss_weight', )))),
     ["row 'M1'", 'sweep key', 'loss_z']),
    (dict(rows=(Row('student', 'S'), Row('M1', 'A', TEACHER, sweep_keys=('model.type', )))),
     ["row 'M1'", 'sweep key', "'model.type'", 'not a number']),
    (dict(rows=(Row('M1', 'A', TEACHER), )), ['rows', 'student']),
    (dict(rows=(Row('student', 'S'), Row('M1', 'A', TEACHER),
                Row('M1-teacher', derived_from='M1', variant_of='M1-nope'))),
     ["row 'M1-teacher'", 'variant_of', "'M1-nope'"]),
])
def test_a_bad_spec_fails_before_any_run_naming_the_field(fake, change, words):
    task, settings, tmp = fake
    paths = {'S': str(tmp / 'configs' / 'student.py'), 'A': str(tmp / 'configs' / 'kd_a.py')}
    if 'rows' in change:
        change['rows'] = tuple(dataclasses.replace(r, config=paths.get(r.config, r.config))
                               for r in change['rows'])
    bad = dataclasses.replace(task, **change)
    with pytest.raises(SpecError) as err:
        validate(bad)
    for word in ['fake', *words]:
        assert word in str(err.value)


def test_the_command_line_refuses_a_bad_spec_and_unknown_rows(fake, monkeypatch, capsys):
    task, settings, tmp = fake
    bad = dataclasses.replace(task, rows=(task.rows[0], dataclasses.replace(
        task.rows[1], config=str(tmp / 'missing.py'))))
    monkeypatch.setitem(cli.TASKS, 'fake', bad)
    runner = FakeRunner()
    with pytest.raises(SystemExit) as err:
        cli.main(['fake', '--work-dir', str(tmp / 'w')], runner=runner)
    assert err.value.code == 2 and runner.calls == []
    assert "row 'M1': config" in capsys.readouterr().err
    monkeypatch.setitem(cli.TASKS, 'fake', task)
    with pytest.raises(SystemExit) as err:
        cli.main(['fake', '--rows', 'M1', 'M7x'], runner=runner)
    out = capsys.readouterr().err
    assert err.value.code == 2 and "['M7x']" in out and "'mmrazor:x'" in out
    with pytest.raises(SystemExit):
        cli.main(['fake', '--seeds', '0', '1'], runner=runner)  # < 3 seeds
    assert 'at least 3 seeds' in capsys.readouterr().err
    assert runner.calls == []


@pytest.mark.parametrize('name', sorted(cli.TASKS))
def test_every_real_task_spec_validates_against_the_real_configs(name):
    assert validate(cli.TASKS[name])


# ---------------------------------------------------------------- protocol
def test_the_sweep_picks_the_best_val_scale_and_the_seeds_use_it(fake):
    task, settings, _ = fake
    runner = FakeRunner()
    bench, plan, results = execute(task, settings, runner)
    teacher = runner.train(row='teacher')
    assert [(c['seed'], c['split']) for c in teacher] == [(0, 'test')]
    ckpt = plan.teachers['teacher'].ckpt
    assert ckpt.endswith('epoch_4.pth')
    key_a = 'model.distiller.distill_losses.loss_a.loss_weight'
    key_b = 'model.distiller.distill_losses.loss_b.loss_weight'
    sweep = runner.train(row='M1', split='val')
    assert sorted(c['scale'] for c in sweep) == [0.25, 1, 4]
    for c in sweep:
        o = c['options']
        assert c['seed'] == 100 and o['randomness.seed'] == 100
        assert o[key_a] == pytest.approx(2.0 * c['scale'])
        assert o[key_b] == pytest.approx(0.5 * c['scale'])
        assert o['val_dataloader.dataset.ann_file'] == 'val.json'
        assert o['model.teacher_ckpt'] == ckpt
        assert o['train_cfg.max_epochs'] == 2 and o['param_scheduler.1.T_max'] == 2
    seeds = runner.train(row='M1', split='test')
    assert sorted(c['seed'] for c in seeds) == [0, 1, 2]
    for c in seeds:  # x4 won on val
        assert c['scale'] == 4 and c['options'][key_a] == 8.0
        assert c['options'][key_b] == 2.0
        assert c['options']['val_dataloader.dataset.ann_file'] == 'test.json'
        assert c['options']['randomness.seed'] == c['seed']
    # a tie on val goes to x1; sweep_weights named the baseline's weight
    base = runner.train(row='mmrazor:x', split='test')
    assert {c['scale'] for c in base} == {1}
    assert all(c['options']['model.alpha'] == 1.0 for c in base)
    assert 'model.distiller.distill_losses.loss_c.loss_weight' not in base[0]['options']
    assert {c['scale'] for c in runner.train(row='mmrazor:x', split='val')} == {0.25, 1, 4}
    # the no-KD student: seeds only, on test, nothing distilled
    student = runner.train(row='student')
    assert sorted((c['seed'], c['split'], c['scale']) for c in student) == [
        (0, 'test', None), (1, 'test', None), (2, 'test', None)]
    assert 'model.teacher_ckpt' not in student[0]['options']
    assert len(runner.calls) == 1 + 1 + 3 + 2 * 6 + 1  # data, teacher, rows, timing
    assert plan.rows['M1'].chosen == 4 and plan.rows['mmrazor:x'].chosen == 1


def test_a_second_call_runs_nothing_and_a_changed_config_only_what_it_changes(fake):
    task, settings, tmp = fake
    execute(task, settings, FakeRunner())
    again = FakeRunner()
    _, plan, _ = execute(task, settings, again)
    assert [c['kind'] for c in again.calls] == ['data']
    assert all(plan.rows[n].complete for n in ('teacher', 'student', 'M1', 'mmrazor:x'))
    # the baseline's config changes: its 6 runs (and the timing) run again, nothing else
    path = tmp / 'configs' / 'kd_b.py'
    path.write_text(path.read_text().replace('alpha=1.0', 'alpha=1.5'))
    third = FakeRunner()
    execute(task, settings, third)
    assert {c['row'] for c in third.train()} == {'mmrazor:x'}
    assert len(third.train()) == 6 and third.calls[-1]['kind'] == 'timing'
    assert {c['options']['model.alpha'] for c in third.train(split='val')} == {
        0.375, 1.5, 6.0}
    # the teacher changes: the teacher and every row distilling from it, not the student
    path = tmp / 'configs' / 'teacher.py'
    path.write_text(path.read_text().replace('width=8', 'width=16'))
    fourth = FakeRunner()
    execute(task, settings, fourth)
    assert sorted({c['row'] for c in fourth.train()}) == ['M1', 'mmrazor:x', 'teacher']
    assert len(fourth.train()) == 1 + 12


def test_a_renamed_config_with_the_same_content_reuses_the_runs(fake):
    """An experiment's config that becomes the method's default (same resolved config
    under another file name) keeps its runs; a different content does not."""
    task, settings, tmp = fake
    execute(task, settings, FakeRunner())
    renamed = tmp / 'configs' / 'kd_a_default.py'
    renamed.write_text((tmp / 'configs' / 'kd_a.py').read_text())
    rows = tuple(dataclasses.replace(r, config=str(renamed)) if r.name == 'M1' else r
                 for r in task.rows)
    again = FakeRunner()
    _, plan, _ = execute(dataclasses.replace(task, rows=rows), settings, again)
    assert again.train() == [] and plan.rows['M1'].complete
    renamed.write_text(renamed.read_text().replace("type='KD'", "type='KD', beta=1"))
    third = FakeRunner()
    execute(dataclasses.replace(task, rows=rows), settings, third)
    assert {c['row'] for c in third.train()} == {'M1'} and len(third.train()) == 6


def test_a_row_starting_at_four_times_the_weights_reuses_the_runs_it_shares(fake):
    """A row whose start is another row's x4 (its x0.25 / x1 are that row's x1 / x4,
    the same resolved configs) trains only its own x4 point; its seeds, at a chosen scale
    it shares, are the other row's runs."""
    task, settings, tmp = fake
    execute(task, settings, FakeRunner())
    strong = tmp / 'configs' / 'kd_a_strong.py'
    strong.write_text((tmp / 'configs' / 'kd_a.py').read_text()
                      .replace('loss_weight=2.0', 'loss_weight=8.0')
                      .replace('loss_weight=0.5', 'loss_weight=2.0'))
    row = dataclasses.replace(task.row('M1'), name='M1-strong', config=str(strong),
                              readme=None)
    again = FakeRunner(test={'M1-strong': 0.35})  # its new x4 point scores below x1's
    _, plan, _ = execute(dataclasses.replace(task, rows=task.rows + (row, )), settings,
                         again)
    assert [(c['row'], c['split'], c['scale']) for c in again.train()] == \
        [('M1-strong', 'val', 4)]
    done = plan.rows['M1-strong']
    assert done.complete and done.chosen == 1
    assert done.values() == plan.rows['M1'].values()


def test_a_killed_run_is_run_again_and_a_killed_benchmark_resumes(fake):
    task, settings, _ = fake
    first = FakeRunner(stop_after=6)  # killed while the sweeps run
    with pytest.raises(KeyboardInterrupt):
        execute(task, settings, first)
    second = FakeRunner()
    _, plan, _ = execute(task, settings, second)
    done_before = {c['tag'] for c in first.calls if c['kind'] == 'train'}
    redone = {c['tag'] for c in second.train()}
    assert not done_before & redone  # finished runs were kept
    assert len(done_before) + len(redone) == 1 + 3 + 12
    assert all(st.complete for st in plan.rows.values())
    # a run directory without result.json (killed mid-run) is run again, alone
    run = plan.rows['M1'].seeds[1]['_run']
    os.remove(run.result_file)
    third = FakeRunner()
    execute(task, settings, third)
    assert [c['tag'] for c in third.train()] == [run.tag]


def test_rerun_discards_one_rows_cached_runs(fake):
    task, settings, _ = fake
    execute(task, settings, FakeRunner())
    again = FakeRunner()
    execute(task, dataclasses.replace(settings, rerun=('M1', )), again)
    assert {c['row'] for c in again.train()} == {'M1'} and len(again.train()) == 6


def test_a_failed_run_is_shown_failed_the_others_finish_and_it_is_retried(
        fake, capsys, validate_bench):
    task, settings, tmp = fake
    failing = FakeRunner(fail=lambda run: run.row == 'M1' and run.seed == 1)
    _, plan, results = execute(task, settings, failing)
    assert len(failing.train(row='mmrazor:x')) == 6 and plan.rows['mmrazor:x'].complete
    doc = report.publish(results, say=lambda *a: None)
    assert 'M1' not in [r['name'] for r in doc['rows']]
    [f] = doc['failed']
    assert f['row'] == 'M1' and f['seed'] == 1 and f['returncode'] == 1
    assert f['log'].endswith('run.log') and osp.isfile(f['log'])
    table = (tmp / 'out' / 'detection-toy-fake-test.md').read_text()
    assert re.search(r'\| M1 \| FAILED: fake M1 x4 s1 test .*run\.log', table)
    result = tmp / 'out' / 'results' / 'detection-toy-fake-test.json'
    assert validate_bench.check(str(result), v2=True) == []
    retry = FakeRunner()
    _, plan, _ = execute(task, settings, retry)
    assert [c['tag'] for c in retry.train()] == ['fake M1 x4 s1 test']
    assert plan.rows['M1'].complete
    # through the command line: exit status 1 while a run fails
    monkey = dataclasses.replace(task, name='fake')
    cli.TASKS['fake'] = monkey
    try:
        code = cli.main(['fake', '--work-dir', str(tmp / 'cli'), '--out', str(tmp / 'o2'),
                         '--no-embed', '--machine', 'test'],
                        runner=FakeRunner(fail=lambda run: run.row == 'student'),
                        say=lambda *a: None)
    finally:
        del cli.TASKS['fake']
    assert code == 1


# ------------------------------------------------------------- statistics / files
def test_paired_difference_and_its_standard_error_by_hand():
    p = report.paired([0.50, 0.60, 0.70], [0.40, 0.45, 0.65])  # diffs .10 .15 .05
    assert p['mean'] == pytest.approx(0.10)
    assert p['se'] == pytest.approx(0.05 / math.sqrt(3), abs=1e-5)
    assert p['beats'] and p['n'] == 3
    q = report.paired([0.50, 0.40, 0.61], [0.45, 0.45, 0.60])  # diffs .05 -.05 .01
    assert q['mean'] == pytest.approx(0.01 / 3, abs=1e-5)
    assert q['se'] == pytest.approx(0.05033 / math.sqrt(3), abs=1e-4)
    assert not q['beats']
    assert report.mean_std([1.0, 2.0, 3.0]) == (2.0, 1.0)  # sample std


def test_the_result_file_passes_the_v2_validator_and_says_what_the_protocol_asks(
        fake, validate_bench):
    task, settings, tmp = fake
    _, _, results = execute(task, settings, FakeRunner())
    doc = report.publish(results, say=lambda *a: None)
    path = tmp / 'out' / 'results' / 'detection-toy-fake-test.json'
    assert validate_bench.check(str(path), v2=True) == []
    assert json.loads(path.read_text()) == json.loads(json.dumps(doc))
    by = {r['name']: r for r in doc['rows']}
    assert list(by) == ['teacher', 'student', 'M1', 'mmrazor:x']
    assert doc['tuning'] == dict(split='val', seed=100, scales=[0.25, 1, 4])
    m1 = by['M1']
    assert m1['per_seed'] == [0.36, 0.37, 0.355]
    assert m1['start'] == {'loss_weights': {
        'model.distiller.distill_losses.loss_a.loss_weight': 2.0,
        'model.distiller.distill_losses.loss_b.loss_weight': 0.5},
        'from': 'project rule (grad-balance)'}
    assert m1['chosen']['scale'] == 4
    assert by['mmrazor:x']['start']['from'] == 'published default'
    # ours is compared with the best baseline, a baseline with the student
    assert m1['paired_vs']['row'] == 'mmrazor:x'
    assert m1['paired_vs']['mean'] == pytest.approx(0.03) and m1['paired_vs']['beats']
    assert by['mmrazor:x']['paired_vs']['row'] == 'student'
    assert m1['extra']['paired_vs_student']['mean'] == pytest.approx(0.06)
    assert m1['extra']['gap_closed'] == pytest.approx(0.06 / (0.60 - 0.905 / 3), abs=1e-4)
    assert m1['time_per_iter_ratio'] == 1.5 and m1['overhead_vs_floor'] == 1.1
    assert m1['peak_mem_mb'] == 100.0
    assert m1['extra']['AP50'] == pytest.approx(0.5617, abs=1e-3)
    assert doc['calibration']['met'] and doc['calibration']['teacher_minus_student'] == \
        pytest.approx(0.60 - 0.905 / 3, abs=1e-4)
    table = (tmp / 'out' / 'detection-toy-fake-test.md').read_text()
    assert '| M1 | 0.3617 ± 0.0076 | 0.3600, 0.3700, 0.3550 |' in table
    # the same seed noise in both rows: a constant difference, standard error 0
    assert '+0.0300 ± 0.0000 vs mmrazor:x (beats)' in table
    assert 'x4 (0.3000 / 0.3200 / 0.3600)' in table
    assert (tmp / 'out' / 'detection-toy-fake-test.png').stat().st_size > 1000
    readme = (tmp / 'readme' / 'README.md').read_text()
    assert 'old' not in readme and '| M1 | 0.3617' in readme


def test_calibration_not_met_is_printed_at_the_top(fake):
    task, settings, tmp = fake
    _, _, results = execute(task, settings, FakeRunner(test={'teacher': 0.35}))
    doc = report.publish(results, say=lambda *a: None)
    table = (tmp / 'out' / 'detection-toy-fake-test.md').read_text()
    assert not doc['calibration']['met']
    assert doc['calibration']['checks_met'] == dict(
        teacher_minus_student=False, student_std=True, classes_learned=True)
    assert table.startswith('**NOT MET: teacher_minus_student** (0.04833 vs target >= 0.2)')
    assert '- met: classes_learned = True' in table


def test_classes_learned_fails_on_a_class_at_zero(fake):
    task, settings, _ = fake
    _, _, results = execute(task, settings, FakeRunner(test={'student': 0.05}))
    cal = results.calibration()
    assert cal['classes_learned'] is False and 'circle' in cal['notes']['classes_learned']


def test_jobs_2_runs_two_at_once_with_the_cores_split(fake):
    task, settings, _ = fake
    runner = FakeRunner(sleep=0.15)
    execute(task, settings, runner)
    assert runner.max_active == 2
    assert {c['threads'] for c in runner.calls if c['kind'] == 'train'} == {'2'}
    assert [c['threads'] for c in runner.calls if c['kind'] == 'timing'] == ['4']
    one = FakeRunner(sleep=0.02)
    execute(task, dataclasses.replace(settings, jobs=1, work_dir=settings.work_dir + '1'),
            one)
    assert one.max_active == 1 and {c['threads'] for c in one.train()} == {'4'}


def test_plan_lists_cached_and_to_do_and_runs_nothing(fake):
    task, settings, _ = fake
    lines = []
    Bench(task, settings, FakeRunner(), say=lines.append).plan_only()
    assert any('to do   fake teacher s0 test' in line for line in lines)
    assert any('later   fake M1: after the teacher' in line for line in lines)
    execute(task, settings, FakeRunner())
    runner, lines = FakeRunner(), []
    Bench(task, settings, runner, say=lines.append).plan_only()
    assert runner.calls == [] and any('cached  fake M1 x4 s2 test' in x for x in lines)
    assert lines[-1].strip().startswith('estimated time: 0:00:00')


def test_summary_table_reads_every_v2_file(fake):
    task, settings, tmp = fake
    (tmp / 'README.md').write_text('# kd\n\n<!-- benchmark:summary -->\n<!-- /benchmark -->'
                                   '\n\nmore\n')
    _, _, results = execute(task, settings, FakeRunner())
    report.publish(results, say=lambda *a: None)
    text = (tmp / 'README.md').read_text()
    line = next(x for x in text.splitlines() if x.startswith('| M1 |'))
    assert 'detection (toy-fake, test)' in line and '+0.060 ± ' in line
    assert 'vs mmrazor:x, beats' in line
    assert '| M5 | classification |' in text and 'no v2 result yet' in text
    assert text.endswith('\n\nmore\n')


# ----------------------------------------------------- teachers chosen on val, derived
def test_best_teacher_on_val_and_a_derived_row(fake, tmp_path):
    task, settings, tmp = fake
    cfg = tmp / 'configs'
    (cfg / 'multi.py').write_text(
        "model = dict(type='MT', teachers=dict(a=dict(ckpt_path=None), b=dict(ckpt_path="
        "None)), distill_loss=dict(loss_weight=0.5))\n" + COMMON)
    two = dataclasses.replace(
        task,
        teachers=(Teacher('ta', str(cfg / 'teacher.py'), Schedule(4), select_on_val=True),
                  Teacher('tb', str(cfg / 'student.py'), Schedule(4), select_on_val=True)),
        rows=(task.rows[0],
              Row('M6', str(cfg / 'multi.py'), {'model.teachers.a.ckpt_path': 'ta',
                                                'model.teachers.b.ckpt_path': 'tb'},
                  default_sweep_keys=('model.distill_loss.loss_weight', )),
              Row('mmrazor:x', {'tb': str(cfg / 'kd_b.py')}, {'model.teacher_ckpt': 'best'}),
              Row('M6-teacher', derived_from='M6')))
    validate(two)
    scores = {('ta', 'val'): 0.5, ('tb', 'val'): 0.6}

    class Runner(FakeRunner):
        def value(self, run):
            for name in ('ta', 'tb'):
                if f'teacher {name}' in run.tag:
                    return scores[(name, run.split)] if run.split == 'val' else 0.7
            return 0.4 if run.row in ('M6', 'M6-teacher') else 0.35 + 0.01 * (run.seed or 0)

    runner = Runner()
    _, plan, results = execute(two, settings, runner)
    assert plan.best == 'tb'
    kinds = [(c['kind'], c['split']) for c in runner.calls if c['row'] == 'teacher']
    assert sorted(kinds) == [('test', 'test'), ('test', 'test'), ('train', 'val'),
                             ('train', 'val')]
    cwd = runner.train(row='mmrazor:x')
    assert {c['options']['model.teacher_ckpt'] for c in cwd} == {plan.teachers['tb'].ckpt}
    m6 = runner.train(row='M6')[0]['options']
    assert m6['model.teachers.a.ckpt_path'] == plan.teachers['ta'].ckpt
    derived = [c for c in runner.calls if c['row'] == 'M6-teacher']
    expected = [('export-test', s) for s in (0, 1, 2)]
    assert sorted((c['kind'], c['seed']) for c in derived) == expected
    doc = report.document(results)
    by = {r['name']: r for r in doc['rows']}
    assert by['teacher']['extra']['teacher'] == 'tb'
    assert by['teacher']['extra']['other_teachers']['ta']['test'] == 0.7
    assert 'sweep' not in by['M6-teacher'] and len(by['M6-teacher']['per_seed']) == 3


def test_one_benchmark_per_data_in_a_work_dir(tmp_path):
    fds = engine.lock_work_dir(str(tmp_path), ['toy_det', 'toy_cls'])
    with pytest.raises(SystemExit, match='another benchmark on the toy_det data'):
        engine.lock_work_dir(str(tmp_path), ['toy_det'])
    # other data runs beside it; a refused lock leaves nothing held
    with pytest.raises(SystemExit, match='toy_cls'):
        engine.lock_work_dir(str(tmp_path), ['toy_seg', 'toy_cls'])
    seg = engine.lock_work_dir(str(tmp_path), ['toy_seg'])
    for fd in fds + seg:
        os.close(fd)
    for fd in engine.lock_work_dir(str(tmp_path), ['toy_det', 'toy_cls', 'toy_seg']):
        os.close(fd)


def test_the_readme_summary_is_what_the_engine_writes_from_the_result_files(tmp_path):
    """The README's first table is the engine's, from benchmarks/results/ as committed:
    a result file changed without the table (or a table edited by hand) fails here."""
    text = open(osp.join(ROOT, 'README.md')).read()
    block = text.split(report.SUMMARY, 1)[1].split(report.END, 1)[0]
    assert block == '\n' + report.summary_table(osp.join(ROOT, 'benchmarks', 'results'))
    # and the check can fail: a typed row does not match
    readme = tmp_path / 'README.md'
    readme.write_text(text.replace('| M1 | ', '| M1 (typed) | ', 1))
    assert report.write_summary(str(readme), osp.join(ROOT, 'benchmarks', 'results'))
    assert readme.read_text() == text


def test_an_ablation_row_is_compared_with_its_method(fake, validate_bench):
    """`M1-no_a` (an ablation of M1): the JSON holds M1 minus it, paired over the seeds,
    and the markdown says whether M1 beats it; other rows get no such comparison."""
    task, settings, tmp = fake
    rows = task.rows + (Row('M1-no_a', task.rows[1].config, TEACHER,
                            options={'model.distiller.distill_losses.loss_a.loss_weight':
                                     0.0}),)
    ablated = dataclasses.replace(task, rows=rows)
    runner = FakeRunner(test={'M1-no_a': 0.33})
    by = publish_valid(ablated, settings, runner, tmp, validate_bench)
    p = by['M1-no_a']['extra']['paired_method_vs_ablation']
    assert p['row'] == 'M1' and p['mean'] == pytest.approx(0.03) and p['beats']
    assert all('paired_method_vs_ablation' not in by[n]['extra']
               for n in ('M1', 'mmrazor:x', 'student'))
    table = (tmp / 'out' / 'detection-toy-fake-test.md').read_text()
    assert '- M1 - M1-no_a: +0.0300 ± 0.0000 (beats)' in table
    assert report.ablated_method('M8-teacher') == 'M8'  # derived rows are skipped above
    assert report.ablated_method('mmrazor:cwd') is None


def test_secondary_metric_variant_baseline_and_the_drop_to_a_weak_variant(
        fake, validate_bench):
    """``Task.secondary`` is compared paired like the metric; a baseline's
    ``variant_of`` row is its reference (and never the best baseline); ``drop_vs``
    reports how much less one variant loses than another (M6+weak against equal-weight
    +weak, issue 20)."""
    task, settings, tmp = fake
    m1, x = task.rows[1], task.rows[2]
    rows = task.rows + (
        Row('M1-plus_w', m1.config, TEACHER, options={'model.width': 3},
            drop_vs='mmrazor:x+w', note='M1 with a weak extra teacher'),
        Row('mmrazor:x+w', x.config, TEACHER, options={'model.width': 3},
            variant_of='mmrazor:x'),
        Row('baseline:y', x.config, TEACHER, options={'model.width': 4}))
    runner = FakeRunner(test={'M1-plus_w': 0.355, 'mmrazor:x+w': 0.28, 'baseline:y': 0.31})
    _, _, results = execute(dataclasses.replace(task, rows=rows, secondary=('AP50', ),
                                                notes='AP50: the fake log\'s.'),
                            settings, runner)
    doc = report.publish(results, say=lambda *a: None)
    path = tmp / 'out' / 'results' / 'detection-toy-fake-test.json'
    assert validate_bench.check(str(path), v2=True) == []
    by = {r['name']: r for r in doc['rows']}
    # AP50 is bbox_mAP + 0.2 in the fake log: the same paired differences
    ap = by['M1']['extra']['paired_AP50']
    assert set(ap) == {'mmrazor:x', 'baseline:y'}  # the variant is no comparison row
    assert ap['mmrazor:x']['mean'] == pytest.approx(0.03) and ap['mmrazor:x']['beats']
    assert by['M1-plus_w']['extra']['paired_AP50']['M1']['mean'] == pytest.approx(-0.005)
    assert by['M1']['extra']['paired_vs_best_baseline']['row'] == 'mmrazor:x'
    v = by['mmrazor:x+w']['extra']['paired_method_vs_ablation']
    assert v['row'] == 'mmrazor:x' and v['mean'] == pytest.approx(0.05)
    drop = by['M1-plus_w']['extra']['paired_drop_vs']
    assert drop['row'] == 'mmrazor:x+w' and drop['ref'] == 'M1'
    assert drop['drop']['mean'] == pytest.approx(0.005)
    assert drop['other_drop']['mean'] == pytest.approx(0.05)
    assert drop['mean'] == pytest.approx(0.045) and drop['beats']
    table = (tmp / 'out' / 'detection-toy-fake-test.md').read_text()
    assert '- M1 - mmrazor:x: +0.0300 ± 0.0000 (beats)' in table
    assert 'the difference of the two losses (theirs - ours): +0.0450' in table
    assert '- M1-plus_w: M1 with a weak extra teacher' in table
    # the metric against each comparison baseline (the variant is none)
    vs = by['M1']['extra']['paired_vs_baselines']
    assert set(vs) == {'mmrazor:x', 'baseline:y'}
    assert vs['baseline:y']['mean'] == pytest.approx(0.05) and vs['baseline:y']['beats']
    assert '- M1 - baseline:y: +0.0500 ± 0.0000 (beats)' in table
    assert "AP50: the fake log's." in table  # the task's notes as well as the rows'


def test_a_derived_variant_row_is_compared_with_its_reference(fake, validate_bench):
    """Issue 21's teacher fine-tuned without the feedback: the teacher of an ablation
    run, compared paired with the method's own teacher row (``variant_of``), not with the
    student. Its name ends in ``-teacher``: the protocol's validator then asks no sweep."""
    task, settings, tmp = fake
    m1 = task.rows[1]
    rows = task.rows + (
        Row('M1-teacher', derived_from='M1'),
        Row('M1-no_b', m1.config, TEACHER,
            options={'model.distiller.distill_losses.loss_b.loss_weight': 0.0},
            sweep_keys=('model.distiller.distill_losses.loss_a.loss_weight', )),
        Row('baseline:no-b-teacher', derived_from='M1-no_b', variant_of='M1-teacher'))
    ablated = dataclasses.replace(task, rows=rows)
    validate(ablated)
    runner = FakeRunner(test={'M1-teacher': 0.62, 'M1-no_b': 0.34,
                              'baseline:no-b-teacher': 0.605})
    by = publish_valid(ablated, settings, runner, tmp, validate_bench)
    p = by['baseline:no-b-teacher']['extra']['paired_method_vs_ablation']
    assert p['row'] == 'M1-teacher' and p['mean'] == pytest.approx(0.015) and p['beats']
    assert 'paired_method_vs_ablation' not in by['M1-teacher']['extra']
    assert by['M1-no_b']['extra']['paired_method_vs_ablation']['row'] == 'M1'
    table = (tmp / 'out' / 'detection-toy-fake-test.md').read_text()
    assert '- M1-teacher - baseline:no-b-teacher: +0.0150 ± 0.0000 (beats)' in table
