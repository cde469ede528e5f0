"""M1 feature loss on hand-checkable tensors."""
import pytest
import torch

from kd_plugins.models.losses import (AttentionGuidedImitationLoss,
                                      attention_guided_imitation, channel_attention,
                                      spatial_attention)


def test_attention_maps_sum_to_size_and_follow_activity():
    feat = torch.zeros(2, 3, 4, 5)
    feat[0, :, 1, 2] = 4.0  # one very active location in image 0
    feat[1, 2] = 1.0  # one active channel in image 1
    s = spatial_attention(feat, 0.5)
    c = channel_attention(feat, 0.5)
    assert s.shape == (2, 1, 4, 5) and c.shape == (2, 3, 1, 1)
    torch.testing.assert_close(s.sum(dim=(1, 2, 3)), torch.tensor([20., 20.]))
    torch.testing.assert_close(c.sum(dim=(1, 2, 3)), torch.tensor([3., 3.]))
    # image 0: logits 8 at the hot location, 0 elsewhere -> 20 * e^8 / (e^8 + 19)
    hot = 20 * torch.exp(torch.tensor(8.)) / (torch.exp(torch.tensor(8.)) + 19)
    torch.testing.assert_close(s[0, 0, 1, 2], hot)
    assert c[1, 2, 0, 0] > c[1, 0, 0, 0]
    # a uniform image gets uniform attention (all ones)
    torch.testing.assert_close(s[1], torch.ones(1, 4, 5))


def test_uniform_teacher_reduces_to_plain_l2():
    t = torch.ones(2, 3, 2, 2)
    s = torch.zeros(2, 3, 2, 2)
    imit, att = attention_guided_imitation(s, t, temperature=1.0)
    # all attention weights are 1: sum of squared differences / N = 2*3*2*2 / 2
    assert imit.item() == pytest.approx(12.0)
    # student all-zero features -> uniform attention too: attention term is 0
    assert att.item() == pytest.approx(0.0)


def test_imitation_weighted_towards_attended_location():
    t = torch.zeros(1, 1, 1, 2)
    t[0, 0, 0, 0] = 2.0  # teacher attends to location 0
    s = t.clone()
    s_err0, s_err1 = s.clone(), s.clone()
    s_err0[0, 0, 0, 0] += 1.0
    s_err1[0, 0, 0, 1] += 1.0
    loss = AttentionGuidedImitationLoss(temperature=1.0, attention_weight=0.0)
    assert loss(s_err0, t) > loss(s_err1, t)  # same error costs more where T looks
    # hand value: A_s = 2*softmax([2, 0]) -> location 0 weight 2e^2/(e^2+1)
    e2 = torch.exp(torch.tensor(2.))
    assert loss(s_err0, t).item() == pytest.approx((2 * e2 / (e2 + 1)).item(), rel=1e-5)


def test_gradients_flow_to_student_only():
    t = torch.randn(2, 4, 3, 3, requires_grad=True)
    s = torch.randn(2, 4, 3, 3, requires_grad=True)
    AttentionGuidedImitationLoss()(s, t).backward()
    assert s.grad is not None and s.grad.abs().sum() > 0
    assert t.grad is None


def test_bad_input_names_the_field():
    with pytest.raises(ValueError, match='temperature must be a number > 0'):
        AttentionGuidedImitationLoss(temperature=0)
    with pytest.raises(ValueError, match='connector'):
        AttentionGuidedImitationLoss()(torch.zeros(1, 2, 3, 3), torch.zeros(1, 4, 3, 3))
