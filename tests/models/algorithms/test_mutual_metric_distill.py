"""M8 mutual metric-learning distillation: both networks train, guide and feedback move
only their own side, the feedback warm-up and gate, one-way special case, bad configs,
and the toy configs training through tools/train.py."""
import copy
import os.path as osp
import re
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config
from mmengine.logging import MessageHub
from mmpretrain.structures import DataSample
from mmrazor.registry import MODELS

from conftest import CONFIGS, ROOT, cli_options, cls_data_options, subprocess_env
from kd_plugins.models.losses.mutual_metric import (MutualRelationalLoss,
                                                    student_better_anchors)
from kd_plugins.models.utils.config_checks import DistillConfigError

pytestmark = pytest.mark.usefixtures('mmrazor_scope')

PAIR = 'wrn-16-2-512d_resnet8x0.5-128d_toy-retrieval.py'
M8_CFG = osp.join(CONFIGS, 'mutual_metric', f'm8_{PAIR}')
RKD_CFG = osp.join(CONFIGS, 'mmrazor_rkd', f'rkd_{PAIR}')
LABELS = [0, 0, 1, 1, 2, 2, 3, 3]


def m8_model(cfg=M8_CFG):
    return copy.deepcopy(Config.fromfile(cfg).model.to_dict())


def build(cfg=M8_CFG, **overrides):
    model = m8_model(cfg)
    model.update(overrides)
    torch.manual_seed(0)
    return MODELS.build(model)


def batch(labels=LABELS, size=32):
    g = torch.Generator().manual_seed(0)
    inputs = torch.randn(len(labels), 3, size, size, generator=g)
    samples = [DataSample().set_gt_label(lab) for lab in labels]
    return inputs, samples


@pytest.fixture(autouse=True)
def fresh_iteration():
    hub = MessageHub.get_current_instance()
    old = hub.runtime_info.get('iter')
    hub.update_info('iter', 1000)
    yield hub
    if old is None:
        hub.runtime_info.pop('iter', None)
    else:
        hub.update_info('iter', old)


def embeddings(algo, inputs):
    with torch.no_grad():
        return (algo.student(inputs, mode='tensor'), algo.teacher(inputs, mode='tensor'))


def test_builds_with_both_networks_trainable():
    algo = build()
    assert algo.teacher_trainable and not algo.teacher_norm_eval
    assert all(p.requires_grad for p in algo.teacher.parameters())
    assert algo.student.head.embed_dim == 128 and algo.teacher.head.embed_dim == 512
    losses = algo.loss(*batch())
    assert {'teacher.loss', 'student.loss', 'distill.loss_guide',
            'distill.loss_feedback', 'distill.feedback_anchors'} <= set(losses)
    assert all(torch.isfinite(v) for v in losses.values())


def test_guide_moves_only_the_student_and_feedback_only_the_teacher():
    algo = build(feedback_gate='all')
    algo.eval()  # fixed BN statistics: the recorded embeddings equal tensor-mode ones
    inputs, samples = batch()
    algo.loss(inputs, samples)
    for name, grads_on in (('distill.loss_guide', 'student'),
                           ('distill.loss_feedback', 'teacher')):
        algo.zero_grad()
        losses = algo.loss(inputs, samples)
        losses[name].backward()
        s_grad = sum(p.grad.abs().sum() for p in algo.student.parameters()
                     if p.grad is not None)
        t_grad = sum(p.grad.abs().sum() for p in algo.teacher.parameters()
                     if p.grad is not None)
        assert (s_grad > 0) == (grads_on == 'student'), name
        assert (t_grad > 0) == (grads_on == 'teacher'), name
    # the values are the relational loss of the two embeddings, each way
    s, t = embeddings(algo, inputs)
    cfg = m8_model()
    guide, feedback = (MutualRelationalLoss(**{k: v for k, v in cfg[key].items()
                                               if k != 'type'})
                       for key in ('guide_loss', 'feedback_loss'))
    assert guide.loss_weight != feedback.loss_weight  # the config's weights, each
    losses = algo.loss(inputs, samples)
    assert losses['distill.loss_guide'].item() == \
        pytest.approx(guide(s, t).item(), rel=1e-4)
    assert losses['distill.loss_feedback'].item() == \
        pytest.approx(feedback(t, s).item(), rel=1e-4)


def test_feedback_gate_and_warmup(fresh_iteration):
    algo = build(feedback_warmup_iters=100)
    algo.eval()
    inputs, samples = batch()
    s, t = embeddings(algo, inputs)
    labels = torch.tensor(LABELS)
    gate = student_better_anchors(s, t, labels)
    weight = m8_model()['feedback_loss']['loss_weight']
    full = weight * MutualRelationalLoss()(t, s, gate)
    fresh_iteration.update_info('iter', 0)
    assert algo.loss(inputs, samples)['distill.loss_feedback'].item() == 0.0
    fresh_iteration.update_info('iter', 25)
    losses = algo.loss(inputs, samples)
    assert losses['distill.loss_feedback'].item() == pytest.approx(0.25 * full.item(),
                                                                   rel=1e-4)
    assert losses['distill.feedback_anchors'].item() == pytest.approx(gate.mean().item())
    fresh_iteration.update_info('iter', 500)
    assert algo.loss(inputs, samples)['distill.loss_feedback'].item() == \
        pytest.approx(full.item(), rel=1e-4)


def test_train_step_updates_both_networks():
    from mmengine.optim import OptimWrapper
    algo = build()
    optim = OptimWrapper(torch.optim.SGD(algo.parameters(), lr=0.1))
    before = {k: v.clone() for k, v in algo.state_dict().items()}
    inputs, samples = batch()
    log = algo.train_step(dict(inputs=list(inputs * 50 + 128), data_samples=samples),
                          optim)
    assert 'distill.loss_guide' in log and 'teacher.loss' in log
    after = algo.state_dict()
    for prefix in ('architecture.head.fc.weight', 'teacher.head.fc.weight',
                   'architecture.backbone.conv1.weight', 'teacher.backbone.conv1.weight'):
        assert not torch.equal(before[prefix], after[prefix]), prefix


def test_one_way_special_case_has_no_feedback_and_frozen_teacher():
    algo = build(feedback_loss=None, teacher_trainable=False)
    assert not any(p.requires_grad for p in algo.teacher.parameters())
    losses = algo.loss(*batch())
    assert 'distill.loss_feedback' not in losses and 'teacher.loss' not in losses
    assert 'distill.loss_guide' in losses
    off = build(guide_loss=None)
    assert 'distill.loss_guide' not in off.loss(*batch())


def test_projection_term_for_unequal_embedding_sizes():
    algo = build(embedding_loss_weight=0.5, projection=True)
    assert tuple(algo.projection.weight.shape) == (512, 128)
    losses = algo.loss(*batch())
    assert losses['distill.loss_embedding'].item() > 0
    losses['distill.loss_embedding'].backward()
    assert algo.projection.weight.grad.abs().sum() > 0
    assert all(p.grad is None or p.grad.abs().sum() == 0
               for p in algo.teacher.parameters())


def test_batch_with_a_single_sample_of_a_class_is_a_clear_error():
    algo = build()
    with pytest.raises(ValueError, match='single sample.*ClassBalancedSampler'):
        algo.loss(*batch([0, 0, 1, 2, 2, 3, 3, 3]))


@pytest.mark.parametrize('change,error,match', [
    (dict(embedding_loss_weight=1.0), DistillConfigError,
     r"128-d embedding with the teacher's 512-d one without a projection.*projection"),
    (dict(feedback_gate='sometimes'), DistillConfigError, 'feedback_gate'),
    (dict(teacher_trainable=False), DistillConfigError,
     'feedback_loss updates the teacher'),
    (dict(feedback_warmup_iters=-5), DistillConfigError, 'feedback_warmup_iters'),
    (dict(student_embedding='head.fcc'), DistillConfigError,
     r"source='head.fcc' is not a module.*head.fc"),
    (dict(teacher_ckpt='https://example.com/t.pth'), DistillConfigError, 'URL'),
    (dict(teacher_ckpt='/nonexistent/t.pth'), FileNotFoundError, 'does not exist'),
])
def test_bad_config_fails_at_build_naming_the_field(change, error, match):
    with pytest.raises(error, match=match):
        build(**change)


def test_teacher_checkpoint_is_loaded_and_trained_on(tmp_path):
    donor = build()
    with torch.no_grad():
        for p in donor.teacher.parameters():
            p.add_(1.0)
    path = str(tmp_path / 'teacher.pth')
    torch.save(dict(state_dict=donor.teacher.state_dict()), path)
    algo = build(teacher_ckpt=path)
    assert torch.equal(algo.teacher.head.fc.weight, donor.teacher.head.fc.weight)
    assert algo.teacher.head.fc.weight.requires_grad


@pytest.mark.parametrize('cfg', [M8_CFG, RKD_CFG], ids=lambda p: osp.basename(p))
def test_toy_retrieval_distill_configs_train(cfg, toy_retrieval_root, tmp_path):
    work = str(tmp_path / 'work')
    opts = dict(cls_data_options(toy_retrieval_root, batch_size=8), **{
        'train_dataloader.sampler.batch_size': 8, 'default_hooks.logger.interval': 1})
    proc = subprocess.run([sys.executable, 'tools/train.py', cfg, '--work-dir', work,
                           '--max-iters', '2', *cli_options(opts)], cwd=ROOT,
                          env=subprocess_env(), capture_output=True, text=True,
                          timeout=600)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-3000:]
    ckpts = [f for f in __import__('os').listdir(work) if f.endswith('.pth')]
    assert ckpts, log[-2000:]
    assert re.search(r'distill\.loss_\w+: [0-9.]+', log)
    assert re.search(r'retrieval/R@1: [0-9.]+', log) and 'retrieval/NMI' in log


def test_m8_refuses_a_distillation_checkpoint_as_its_teacher(tmp_path):
    from kd_plugins.models.utils import TeacherCheckpointError
    path = str(tmp_path / 'm8_epoch_60.pth')
    torch.save(dict(state_dict=build().state_dict()), path)
    with pytest.raises(TeacherCheckpointError,
                       match=r"m8_epoch_60\.pth.*under 'architecture\.'.*export_student"):
        build(teacher_ckpt=path)
