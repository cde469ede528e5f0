"""M7's data-free losses on hand-checkable tensors: signs (what each generator is pushed
towards), exact values, the student's L1 / KL term, gradients, bad input named."""
import math

import pytest
import torch

from kd_plugins.models.losses.data_free import (
    BNStatisticsLoss, ClassBalanceEntropyLoss, HardSampleAdversarialLoss,
    LogitsDistillLoss, TeacherOneHotLoss, bn_statistics_loss, channel_stats,
    information_entropy_loss, logits_discrepancy, logits_distill_loss, onehot_loss)

pytestmark = pytest.mark.usefixtures('mmrazor_scope')


def test_adversarial_loss_decreases_with_disagreement():
    t = torch.tensor([[2., 0., -2.]])
    close = HardSampleAdversarialLoss()(torch.tensor([[2., 0., -1.]]), t)
    far = HardSampleAdversarialLoss()(torch.tensor([[-2., 0., 2.]]), t)
    assert close.item() == pytest.approx(-1 / 3)  # mean |s - t| = (0 + 0 + 1) / 3
    assert far.item() == pytest.approx(-8 / 3)
    assert far < close
    w = HardSampleAdversarialLoss(loss_weight=0.5)(torch.tensor([[-2., 0., 2.]]), t)
    assert w.item() == pytest.approx(-4 / 3)


def test_adversarial_gradient_pushes_logits_apart():
    s = torch.tensor([[1., 0.]], requires_grad=True)
    t = torch.tensor([[0., 1.]], requires_grad=True)
    HardSampleAdversarialLoss()(s, t).backward()
    # descending the loss raises s where s > t and lowers it where s < t (both sides)
    assert s.grad.tolist() == [[-0.5, 0.5]]
    assert t.grad.tolist() == [[0.5, -0.5]]


def test_onehot_loss_is_lower_for_confident_teacher():
    assert onehot_loss(torch.zeros(1, 2)).item() == pytest.approx(math.log(2))
    confident = TeacherOneHotLoss()(torch.tensor([[10., 0., 0.]]))
    unsure = TeacherOneHotLoss()(torch.tensor([[1., 0.9, 0.8]]))
    assert confident < unsure
    # CE to the argmax: -log softmax(t)[argmax]
    two = TeacherOneHotLoss()(torch.tensor([[0., 2., 0.]]))
    assert two.item() == pytest.approx(-math.log(math.exp(2) / (math.exp(2) + 2)),
                                       rel=1e-5)
    assert TeacherOneHotLoss(loss_weight=2)(torch.zeros(1, 2)).item() == \
        pytest.approx(2 * math.log(2))


def test_info_entropy_loss_is_lower_for_balanced_batch():
    balanced = torch.tensor([[10., 0.], [0., 10.]])
    one_class = torch.tensor([[10., 0.], [10., 0.]])
    assert ClassBalanceEntropyLoss()(balanced) < ClassBalanceEntropyLoss()(one_class)
    # uniform class distribution over the batch: -H = -log K, the minimum
    assert information_entropy_loss(torch.zeros(4, 5)).item() == \
        pytest.approx(-math.log(5))
    assert information_entropy_loss(balanced).item() == pytest.approx(-math.log(2),
                                                                      abs=1e-3)
    assert information_entropy_loss(torch.tensor([[100., 0.]])).item() == \
        pytest.approx(0, abs=1e-6)


def test_channel_stats_are_biased_per_channel():
    x = torch.tensor([1., 3., 0., 0.]).view(2, 2, 1, 1).transpose(0, 1).contiguous()
    # channel 0 holds 1 and 3, channel 1 holds 0 and 0
    mean, var = channel_stats(x)
    assert mean.tolist() == [2., 0.] and var.tolist() == [1., 0.]
    mean, var = channel_stats(torch.tensor([[1., 0.], [3., 0.]]))  # BN1d input (N, C)
    assert mean.tolist() == [2., 0.] and var.tolist() == [1., 0.]


def test_bn_statistics_loss_by_hand():
    mean, var = torch.tensor([2., 0.]), torch.tensor([1., 0.])
    assert bn_statistics_loss([mean], [var], [mean.clone()], [var.clone()]).item() == 0
    # ||(2, 0) - (0, 0)|| + ||(1, 0) - (1, 1)|| = 2 + 1
    one = bn_statistics_loss([mean], [var], [torch.zeros(2)], [torch.ones(2)])
    assert one.item() == pytest.approx(3.0)
    # a second layer off by (3, 4) in the mean adds ||(3, 4)|| = 5
    two = BNStatisticsLoss(loss_weight=0.5)(
        [mean, torch.tensor([3., 4.])], [var, torch.ones(2)],
        [torch.zeros(2), torch.zeros(2)], [torch.ones(2), torch.ones(2)])
    assert two.item() == pytest.approx(0.5 * (3 + 5))


def test_bn_statistics_loss_zero_for_matching_batch_norm():
    """A BN layer whose running statistics are those of the batch gives 0."""
    x = torch.randn(16, 3, 4, 4) * 2 + 1
    bn = torch.nn.BatchNorm2d(3)
    bn.running_mean, bn.running_var = channel_stats(x)
    mean, var = channel_stats(x)
    assert bn_statistics_loss([mean], [var], [bn.running_mean], [bn.running_var]) == 0
    assert bn_statistics_loss([mean], [var], [bn.running_mean + 0.1],
                              [bn.running_var]) > 0


def test_logits_distill_loss_modes():
    s = torch.tensor([[1., 2.], [0., 0.]], requires_grad=True)
    t = torch.tensor([[1., 0.], [0., 1.]], requires_grad=True)
    l1 = LogitsDistillLoss(mode='l1')(s, t)
    assert l1.item() == pytest.approx(3 / 4)
    assert logits_discrepancy(s, t).item() == pytest.approx(3 / 4)
    l1.backward()
    assert t.grad is None  # the teacher side is a target only
    assert logits_distill_loss(t, t, 'kl', tau=4).item() == pytest.approx(0, abs=1e-7)
    # KL(p_t || p_s) for t = (0, 0) -> p_t = (.5, .5), s = (log 3, 0) -> p_s = (.75, .25)
    s2, t2 = torch.tensor([[math.log(3), 0.]]), torch.zeros(1, 2)
    kl = 0.5 * math.log(0.5 / 0.75) + 0.5 * math.log(0.5 / 0.25)
    assert logits_distill_loss(s2, t2, 'kl').item() == pytest.approx(kl, rel=1e-5)
    # temperature: tau^2 * KL of the softened distributions
    soft = LogitsDistillLoss(mode='kl', tau=2, loss_weight=3)(2 * s2, 2 * t2)
    assert soft.item() == pytest.approx(3 * 4 * kl, rel=1e-5)


@pytest.mark.parametrize('build,match', [
    (lambda: LogitsDistillLoss(mode='l2'), "mode must be one of \\('l1', 'kl'\\)"),
    (lambda: LogitsDistillLoss(tau=0), 'tau must be a finite number > 0'),
    (lambda: TeacherOneHotLoss(loss_weight=-1), 'loss_weight must be a finite number'),
    (lambda: HardSampleAdversarialLoss(loss_weight=float('nan')), 'loss_weight'),
])
def test_bad_hyper_parameters_are_named(build, match):
    with pytest.raises(ValueError, match=match):
        build()


def test_bad_inputs_are_named():
    with pytest.raises(ValueError, match=r'student logits \(2, 3\) and teacher logits '
                       r'\(2, 4\) differ'):
        logits_discrepancy(torch.zeros(2, 3), torch.zeros(2, 4))
    with pytest.raises(ValueError, match=r'preds_T must be \(N, num_classes\) logits'):
        onehot_loss(torch.zeros(2, 3, 4))
    with pytest.raises(ValueError, match='one mean, variance, running mean and running '
                       'variance per BN layer'):
        bn_statistics_loss([torch.zeros(2)], [], [torch.zeros(2)], [torch.ones(2)])


def test_registered_in_mmrazor():
    from mmrazor.registry import MODELS
    for name in ('HardSampleAdversarialLoss', 'TeacherOneHotLoss',
                 'ClassBalanceEntropyLoss', 'BNStatisticsLoss', 'LogitsDistillLoss'):
        assert MODELS.build(dict(type=name, loss_weight=0.5)).loss_weight == 0.5
