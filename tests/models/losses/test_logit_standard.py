"""Logit-standardised KD (M5's logit-term option) on hand-checkable tensors."""
import math

import pytest
import torch
import torch.nn.functional as F

from kd_plugins.models.losses import (StandardizedKLDivergence, standardize_logits,
                                      standardized_kd_loss)
from mmrazor.registry import MODELS


def test_standardize_by_hand():
    z = torch.tensor([[1.0, 2.0, 3.0], [10.0, 10.0, 16.0]])
    # row 1: mean 2, population std sqrt(2/3); row 2: mean 12, std sqrt(8)
    want = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, -2.0, 4.0]])
    want = want / torch.tensor([[math.sqrt(2 / 3)], [math.sqrt(8.0)]])
    torch.testing.assert_close(standardize_logits(z), want, rtol=1e-5, atol=1e-5)


def test_loss_by_hand():
    s = torch.tensor([[0.0, 1.0]])  # standardised: [-1, 1]
    t = torch.tensor([[5.0, 3.0]])  # standardised: [1, -1]
    tau = 2.0
    p_s = F.softmax(torch.tensor([-0.5, 0.5]), 0)
    p_t = F.softmax(torch.tensor([0.5, -0.5]), 0)
    want = tau ** 2 * (p_t * (p_t.log() - p_s.log())).sum()
    torch.testing.assert_close(standardized_kd_loss(s, t, tau), want)


def test_only_the_order_and_spacing_of_the_logits_count():
    """A student whose logits are the teacher's up to a per-sample shift and positive
    scale has nothing to learn; vanilla KD would still pull its range."""
    g = torch.Generator().manual_seed(0)
    t = torch.randn(4, 10, generator=g)
    s = 0.1 * t + torch.randn(4, 1, generator=g)
    # zero up to float32 rounding, scaled by tau^2 = 16
    assert standardized_kd_loss(s, t, tau=4.0).item() == pytest.approx(0.0, abs=1e-5)
    assert F.kl_div(F.log_softmax(s / 4, 1), F.softmax(t / 4, 1),
                    reduction='batchmean').item() > 1e-3
    other = torch.randn(4, 10, generator=g)
    assert standardized_kd_loss(other, t, tau=4.0).item() > 1e-3


def test_teacher_gets_no_gradient_and_student_does():
    s = torch.randn(3, 5, requires_grad=True)
    t = torch.randn(3, 5, requires_grad=True)
    StandardizedKLDivergence(tau=4.0, loss_weight=2.0)(s, t).backward()
    assert t.grad is None
    assert s.grad is not None and s.grad.abs().sum() > 0


def test_loss_weight_scales_and_registry_builds():
    s, t = torch.randn(2, 6), torch.randn(2, 6)
    loss = MODELS.build(dict(_scope_='mmrazor', type='StandardizedKLDivergence', tau=3.0,
                             loss_weight=0.5))
    torch.testing.assert_close(loss(s, t), 0.5 * standardized_kd_loss(s, t, 3.0))


@pytest.mark.parametrize('kwargs,field', [
    (dict(tau=0.0), 'tau'), (dict(tau=-1.0), 'tau'), (dict(loss_weight=-1.0), 'loss_weight'),
    (dict(tau='4'), 'tau')])
def test_bad_options_name_the_field(kwargs, field):
    with pytest.raises(ValueError, match=field):
        StandardizedKLDivergence(**kwargs)


def test_bad_shapes_are_refused():
    with pytest.raises(ValueError, match=r'\(N, K\) logits'):
        standardized_kd_loss(torch.randn(2, 3, 4, 4), torch.randn(2, 3, 4, 4))
    with pytest.raises(ValueError, match='student'):
        standardized_kd_loss(torch.randn(2, 3), torch.randn(2, 4))
    with pytest.raises(ValueError, match='at least 2 classes'):
        standardized_kd_loss(torch.randn(2, 1), torch.randn(2, 1))
