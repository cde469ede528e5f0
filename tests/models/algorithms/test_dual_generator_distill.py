"""DualGeneratorDataFreeDistill (M7): the G1:G2 split of a student batch, build-time
errors naming the field, what one train_step changes (and what it must not), the
teacher's BN-statistics hooks, and real training through tools/train.py: one process and
two CPU processes (gloo, DDP around each trainable part)."""
import json
import os
import os.path as osp
import subprocess
import sys
import textwrap

import pytest
import torch
from mmengine.model import BaseModel
from mmengine.optim import OptimWrapper, OptimWrapperDict
from mmrazor.registry import MODELS

from conftest import CONFIGS, ROOT, free_port, subprocess_env
from kd_plugins.models.algorithms.dual_generator_distill import (BNInputRecorder,
                                                                 split_batch, unwrap)
from kd_plugins.models.losses.data_free import channel_stats
from kd_plugins.models.utils import DistillConfigError

pytestmark = pytest.mark.usefixtures('mmrazor_scope')

M7_TOY = osp.join(CONFIGS, 'dual_generator', 'm7_wrn-16-2_resnet8_toy-cls.py')


def classifier(backbone, channels, num_classes=10):
    return dict(_scope_='mmpretrain', type='ImageClassifier', backbone=backbone,
                neck=dict(type='GlobalAveragePooling'),
                head=dict(type='LinearClsHead', num_classes=num_classes,
                          in_channels=channels))


TEACHER = classifier(dict(type='WideResNet', depth=10, widen_factor=1), 64)
STUDENT = classifier(dict(type='CifarKDResNet', arch='resnet8'), 64)


def generator(**kwargs):
    cfg = dict(type='DataFreeImageGenerator', img_size=16, latent_dim=8,
               hidden_channels=8)
    cfg.update(kwargs)
    return cfg


def build(**kwargs):
    cfg = dict(type='DualGeneratorDataFreeDistill', architecture=STUDENT,
               teacher=TEACHER, generator_hard=generator(), generator_easy=generator(),
               batch_size=8, hard_ratio=3, easy_ratio=1, input_shape=(3, 16, 16))
    cfg.update(kwargs)
    return MODELS.build(cfg)


def optim_wrappers(algo, lr=0.1):
    def sgd(module):
        return OptimWrapper(torch.optim.SGD(module.parameters(), lr=lr))
    return OptimWrapperDict(architecture=sgd(algo.architecture),
                            generator_hard=sgd(algo.generator_hard),
                            generator_easy=sgd(algo.generator_easy))


def snapshot(module):
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def changed(before, module):
    after = module.state_dict()
    return any(not torch.equal(before[k], after[k]) for k in before
               if before[k].is_floating_point())


def test_split_batch():
    assert split_batch(8, 3, 1) == (6, 2)
    assert split_batch(8, 1.0, 1.0) == (4, 4)
    assert split_batch(8, 1, 0) == (8, 0)
    assert split_batch(8, 0, 2) == (0, 8)
    assert split_batch(3, 1, 1) == (2, 1)


@pytest.mark.parametrize('kwargs,match', [
    (dict(hard_ratio=-1), 'hard_ratio must be a finite number >= 0, got -1'),
    (dict(easy_ratio=float('inf')), 'easy_ratio must be a finite number'),
    (dict(hard_ratio=0, easy_ratio=0), 'hard_ratio and easy_ratio are both 0'),
    (dict(batch_size=2, hard_ratio=1, easy_ratio=10), 'no sample for hard_ratio'),
    (dict(batch_size=0), 'batch_size must be a positive int, got 0'),
    (dict(student_iter=0), 'student_iter must be a positive int'),
    (dict(generator_iter=1.5), 'generator_iter must be a positive int'),
    (dict(input_shape=(16, 16)), r'input_shape must be \(C, H, W\)'),
    (dict(hard_bn_prior='yes'), 'hard_bn_prior'),
])
def test_bad_schedule_fields_are_named(kwargs, match):
    with pytest.raises(DistillConfigError, match=match):
        build(**kwargs)
    assert issubclass(DistillConfigError, ValueError)


def test_generator_output_must_match_teacher_input():
    with pytest.raises(DistillConfigError,
                       match=r'generator_easy: makes images of shape \(3, 32, 32\) '
                       r'\(img_size=32, out_channels=3\) but input_shape, the '
                       r"teacher's input, is \(3, 16, 16\): set generator_easy.img_size="
                       r'16 and generator_easy.out_channels=3'):
        build(generator_easy=generator(img_size=32))
    with pytest.raises(DistillConfigError, match=r'generator_hard: makes images of shape '
                       r'\(1, 16, 16\) \(img_size=16, out_channels=1\)'):
        build(generator_hard=generator(out_channels=1))


def test_bad_generator_fields_are_named():
    with pytest.raises(DistillConfigError, match='generator_hard: .*latent_dim must be '
                       'a positive int, got -4'):
        build(generator_hard=generator(latent_dim=-4))
    with pytest.raises(DistillConfigError,
                       match='generator_easy: .*img_size=14 must be a multiple of 2'):
        build(generator_easy=generator(img_size=14))


def test_teacher_and_student_must_agree():
    with pytest.raises(DistillConfigError, match='class-count mismatch'):
        build(architecture=classifier(dict(type='CifarKDResNet', arch='resnet8'), 64, 5))
    with pytest.raises(DistillConfigError, match=r"teacher\(x, mode='tensor'\) must "
                       r'return \(N, num_classes\) logits'):
        build(teacher=dict(TEACHER, head=None))


class NoBNClassifier(BaseModel):
    """A teacher without BatchNorm layers."""

    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(3 * 16 * 16, 10)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        return self.fc(inputs.flatten(1))


def test_bn_loss_needs_teacher_batch_norms():
    with pytest.raises(DistillConfigError, match='teacher has no BatchNorm layer'):
        build(teacher=NoBNClassifier())
    algo = build(teacher=NoBNClassifier(),
                 bn_stats_loss=dict(type='BNStatisticsLoss', loss_weight=0))
    log = algo.train_step({}, optim_wrappers(algo))
    assert 'generator_easy.loss_bn_stats' not in log


def test_missing_teacher_ckpt_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match='teacher_ckpt'):
        build(teacher_ckpt=str(tmp_path / 'nope.pth'))


def test_teacher_ckpt_is_loaded_and_kept(tmp_path):
    from mmengine.registry import MODELS as ROOT_MODELS
    teacher = ROOT_MODELS.build(TEACHER)
    torch.nn.init.constant_(teacher.head.fc.bias, 0.25)
    path = str(tmp_path / 'teacher.pth')
    torch.save({'state_dict': teacher.state_dict()}, path)
    algo = build(teacher_ckpt=path)
    algo.init_weights()  # what the Runner does: must not reset the loaded teacher
    for k, v in teacher.state_dict().items():
        assert torch.equal(algo.teacher.state_dict()[k], v), k


def test_train_step_changes_student_and_generators_only():
    torch.manual_seed(0)
    algo = build(student_iter=2)
    algo.train()
    assert not algo.teacher.training and algo.architecture.training
    assert not any(p.requires_grad for p in algo.teacher.parameters())
    before = {name: snapshot(getattr(algo, name))
              for name in ('teacher', 'architecture', 'generator_hard', 'generator_easy')}
    log = algo.train_step({}, optim_wrappers(algo))
    assert set(log) >= {'generator_hard.loss_adv', 'generator_easy.loss_onehot',
                        'generator_easy.loss_info_entropy',
                        'generator_easy.loss_bn_stats', 'distill.loss_kd'}
    assert all(torch.isfinite(v) for v in log.values())
    assert log['generator_hard.loss_adv'] < 0
    teacher_after = algo.teacher.state_dict()
    for k, v in before['teacher'].items():  # weights and BN running statistics
        assert torch.equal(v, teacher_after[k]), k
    for name in ('architecture', 'generator_hard', 'generator_easy'):
        assert changed(before[name], getattr(algo, name)), name
    assert not algo.teacher.training


def test_generator_steps_leave_no_student_gradient():
    algo = build()
    algo.train()
    optims = optim_wrappers(algo)
    algo.train_hard_generator(optims['generator_hard'])
    algo.train_easy_generator(optims['generator_easy'])
    assert all(p.grad is None for p in algo.architecture.parameters())
    assert all(p.grad is None for p in algo.teacher.parameters())
    assert all(p.requires_grad for p in algo.architecture.parameters())


def test_student_batch_is_the_union_in_ratio():
    algo = build()
    algo.train()
    calls = []
    for name in ('generator_hard', 'generator_easy'):
        getattr(algo, name).register_forward_hook(
            lambda m, i, o, name=name: calls.append((name, o.shape[0])))
    images = algo.generate()
    assert images.shape == (8, 3, 16, 16)
    assert calls == [('generator_hard', 6), ('generator_easy', 2)]


def test_hard_generator_step_shows_the_student_a_full_batch():
    """In train mode the student's BN layers use batch statistics: G1 is judged on
    the mixed batch the student trains on, not on a hard-only one."""
    algo = build()
    algo.train()
    seen = []
    algo.architecture.register_forward_hook(lambda m, i, o: seen.append(i[0].shape[0]))
    algo.train_hard_generator(optim_wrappers(algo)['generator_hard'])
    assert seen == [8]


def test_zero_ratio_leaves_that_generator_alone():
    algo = build(easy_ratio=0)
    algo.train()
    before = snapshot(algo.generator_easy)
    log = algo.train_step({}, OptimWrapperDict(**{
        k: v for k, v in optim_wrappers(algo).items() if k != 'generator_easy'}))
    assert not any(k.startswith('generator_easy') for k in log)
    assert not changed(before, algo.generator_easy)
    assert algo.generate().shape[0] == 8


def test_hard_bn_prior_puts_the_bn_statistics_term_on_g1():
    """``hard_bn_prior=True``: G1's step also matches the teacher's BN statistics on its
    images (the term's value and a gradient reach G1); off by default."""
    torch.manual_seed(0)
    plain = build()
    plain.train()
    assert 'generator_hard.loss_bn_stats' not in plain.train_hard_generator(
        optim_wrappers(plain)['generator_hard'])
    torch.manual_seed(0)
    algo = build(hard_bn_prior=True, adversarial_loss=dict(
        type='HardSampleAdversarialLoss', loss_weight=0.0))
    algo.train()
    before = snapshot(algo.generator_hard)
    log = algo.train_hard_generator(optim_wrappers(algo)['generator_hard'])
    assert log['generator_hard.loss_bn_stats'] > 0
    assert changed(before, algo.generator_hard)  # moved by the BN term alone
    assert algo.bn_recorder.records == [] and not algo.bn_recorder.active


def test_bn_recorder_records_inputs_only_while_recording():
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 1), torch.nn.BatchNorm2d(4),
                              torch.nn.Conv2d(4, 2, 1), torch.nn.BatchNorm2d(2)).eval()
    rec = BNInputRecorder(net)
    x = torch.randn(5, 3, 4, 4)
    net(x)
    assert rec.records == []
    with rec.recording():
        net(x)
    means, variances, run_means, run_vars = rec.take()
    assert len(means) == 2 and rec.records == []
    mean, var = channel_stats(net[0](x))
    assert torch.allclose(means[0], mean) and torch.allclose(variances[0], var)
    assert run_means[1] is net[3].running_mean and run_vars[0] is net[1].running_var


def test_unwrap():
    from mmengine.registry import MODEL_WRAPPERS

    class Wrapper(torch.nn.Module):
        def __init__(self, module):
            super().__init__()
            self.module = module

    MODEL_WRAPPERS.register_module(module=Wrapper, force=True)
    try:
        inner = torch.nn.Linear(1, 1)
        assert unwrap(Wrapper(inner)) is inner and unwrap(inner) is inner
    finally:
        MODEL_WRAPPERS.module_dict.pop('Wrapper')


# real training ---------------------------------------------------------------------
@pytest.fixture(scope='module')
def toy_cls_and_teacher(tmp_path_factory):
    """The toy classification set and a randomly initialised toy-teacher checkpoint."""
    from mmengine.config import Config
    from mmengine.registry import MODELS as ROOT_MODELS
    from kd_plugins.datasets.toy import make_cls
    tmp = tmp_path_factory.mktemp('m7')
    root = str(tmp / 'toy_cls')
    make_cls(root, num_train_per_class=4, num_val_per_class=2, num_test_per_class=2,
             seed=0)
    teacher = ROOT_MODELS.build(dict(Config.fromfile(M7_TOY).model.teacher,
                                     _scope_='mmpretrain'))
    ckpt = str(tmp / 'teacher.pth')
    torch.save({'state_dict': teacher.state_dict()}, ckpt)
    return root + '/', ckpt


def toy_options(root, batch_size=8, student_iter=2):
    opts = [f'{s}_dataloader.{k}={v}' for s in ('val', 'test')
            for k, v in (('dataset.data_root', root), ('num_workers', 0),
                         ('persistent_workers', False))]
    return opts + [f'model.batch_size={batch_size}', f'model.student_iter={student_iter}',
                   'default_hooks.logger.interval=1']


@pytest.mark.slow
def test_m7_toy_config_trains_in_one_process(tmp_path, toy_cls_and_teacher):
    root, ckpt = toy_cls_and_teacher
    work = str(tmp_path / 'work')
    res = subprocess.run([sys.executable, 'tools/train.py', M7_TOY, '--work-dir', work,
                          '--max-iters', '3', '--teacher-ckpt', ckpt, '--cfg-options',
                          *toy_options(root)],
                         cwd=ROOT, env=subprocess_env(), capture_output=True, text=True,
                         timeout=600)
    out = res.stdout + res.stderr
    assert res.returncode == 0, out[-3000:]
    for key in ('generator_hard.loss_adv', 'generator_easy.loss_bn_stats',
                'distill.loss_kd', 'accuracy/top1'):
        assert key in out, key
    assert f'backend from path: {ckpt}' in out  # the teacher's checkpoint was loaded
    assert osp.isfile(osp.join(work, 'iter_3.pth'))


HOOK = textwrap.dedent('''
    import json, os
    from mmengine.hooks import Hook
    from mmengine.model import is_model_wrapper
    from mmengine.registry import HOOKS

    @HOOKS.register_module()
    class RecordM7Hook(Hook):
        """Test helper: each rank writes its steps, losses and parameter sums."""
        def __init__(self, out_dir):
            self.out_dir, self.steps = out_dir, []

        def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
            self.steps.append(dict(iter=runner.iter, losses={
                k: float(v) for k, v in (outputs or {}).items()}))

        def after_run(self, runner):
            model = runner.model
            model = model.module if is_model_wrapper(model) else model
            sums = {name: float(sum(p.detach().double().sum() for p in
                                    getattr(model, name).parameters()))
                    for name in ('architecture', 'generator_hard', 'generator_easy')}
            wrapped = {name: type(getattr(model, name)).__name__
                       for name in ('architecture', 'generator_hard', 'teacher')}
            with open(os.path.join(self.out_dir, f'rank{runner.rank}.json'), 'w') as f:
                json.dump(dict(world_size=runner.world_size, steps=self.steps,
                               sums=sums, wrapped=wrapped), f)
''')


@pytest.mark.slow
def test_m7_toy_config_trains_with_two_cpu_processes(tmp_path, toy_cls_and_teacher):
    root, ckpt = toy_cls_and_teacher
    (tmp_path / 'record_m7_hook.py').write_text(HOOK)
    cfg = tmp_path / 'm7_with_hook.py'
    cfg.write_text(f'''_base_ = [{M7_TOY!r}]
custom_imports = dict(imports=['kd_plugins', 'record_m7_hook'],
                      allow_failed_imports=False)
custom_hooks = [dict(type='RecordM7Hook', out_dir={str(tmp_path)!r})]
''')
    env = subprocess_env()
    env['PYTHONPATH'] = str(tmp_path) + os.pathsep + env['PYTHONPATH']
    env['PORT'] = str(free_port())
    work = str(tmp_path / 'work')
    res = subprocess.run(['bash', osp.join(ROOT, 'tools', 'dist_train.sh'), str(cfg), '2',
                          '--work-dir', work, '--max-iters', '2', '--teacher-ckpt', ckpt,
                          '--cfg-options', *toy_options(root)],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, (res.stdout + res.stderr)[-4000:]
    ranks = [json.loads((tmp_path / f'rank{r}.json').read_text()) for r in (0, 1)]
    for run in ranks:
        assert run['world_size'] == 2
        assert [s['iter'] for s in run['steps']] == [0, 1]
        assert run['wrapped'] == dict(architecture='MMDistributedDataParallel',
                                      generator_hard='MMDistributedDataParallel',
                                      teacher='ImageClassifier')
    # each rank makes its own samples, gradients are averaged: losses differ, weights
    # stay identical
    assert ranks[0]['steps'][0]['losses'] != ranks[1]['steps'][0]['losses']
    for name, value in ranks[0]['sums'].items():
        assert value == pytest.approx(ranks[1]['sums'][name], rel=1e-9, abs=1e-9), name
    assert osp.isfile(osp.join(work, 'iter_2.pth'))


def test_teacher_ckpt_of_another_model_fails_at_build(tmp_path):
    from kd_plugins.models.utils import TeacherCheckpointError
    from mmengine.registry import MODELS as ROOT_MODELS
    path = str(tmp_path / 'student.pth')
    torch.save({'state_dict': ROOT_MODELS.build(STUDENT).state_dict()}, path)
    with pytest.raises(TeacherCheckpointError,
                       match=r'teacher_ckpt: checkpoint .*student\.pth.*does not fit'):
        build(teacher_ckpt=path)
