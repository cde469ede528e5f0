"""M5 hybrid attention transfer loss on hand-checkable tensors."""
import math

import pytest
import torch

from kd_plugins.models.losses import (HybridAttentionLoss, channel_attention_vector,
                                      hybrid_attention_loss, spatial_attention_map)


def feat(values):
    """(1, C, 1, W) from a C x W list."""
    return torch.tensor(values, dtype=torch.float32).unsqueeze(0).unsqueeze(2)


def test_attention_maps_by_hand():
    f = feat([[1.0, 3.0], [-1.0, 1.0]])  # 2 channels, 2 locations
    # spatial: mean_c x^2 = [1, 5] -> / sqrt(26)
    torch.testing.assert_close(spatial_attention_map(f),
                               torch.tensor([[1.0, 5.0]]) / math.sqrt(26.0))
    # channel: mean_hw x^2 = [5, 1] -> / sqrt(26)
    torch.testing.assert_close(channel_attention_vector(f),
                               torch.tensor([[5.0, 1.0]]) / math.sqrt(26.0))
    # p = 1: mean |x|
    torch.testing.assert_close(channel_attention_vector(f, p=1.0),
                               torch.tensor([[2.0, 1.0]]) / math.sqrt(5.0))


def test_loss_by_hand():
    s = feat([[1.0, 0.0]])  # one channel: spatial [1, 0], channel [1]
    t = feat([[0.0, 2.0]])  # spatial [0, 1], channel [1]
    # spatial ||[1, -1]||^2 = 2; channel vectors both [1]: 0
    assert hybrid_attention_loss(s, t).item() == pytest.approx(2.0)
    loss = HybridAttentionLoss(spatial_weight=0.5, channel_weight=3.0, loss_weight=2.0)
    assert loss(s, t).item() == pytest.approx(2.0 * 0.5 * 2.0)
    s2 = feat([[1.0, 1.0], [0.0, 0.0]])  # channel attention [1, 0]
    t2 = feat([[0.0, 0.0], [1.0, 1.0]])  # [0, 1]; spatial maps equal
    assert hybrid_attention_loss(s2, t2, channel_weight=1.0).item() == pytest.approx(2.0)
    assert hybrid_attention_loss(s2, t2, channel_weight=0.0).item() == pytest.approx(0.0)


def test_sorted_channel_pairing_by_hand():
    # s2 / t2 of test_loss_by_hand: channel attention [1, 0] vs [0, 1]
    s2 = feat([[1.0, 1.0], [0.0, 0.0]])
    t2 = feat([[0.0, 0.0], [1.0, 1.0]])
    # index pairing: ||[1, -1]||^2 = 2; sorted profiles are both [1, 0]: 0
    assert hybrid_attention_loss(s2, t2, channel_pairing='index').item() == \
        pytest.approx(2.0)
    assert hybrid_attention_loss(s2, t2, channel_pairing='sorted').item() == \
        pytest.approx(0.0)
    # channel energies [9, 1] (student) vs [1, 4] (teacher), one location each
    s = feat([[3.0], [1.0]])
    t = feat([[1.0], [2.0]])
    a_s = torch.tensor([9.0, 1.0]) / math.sqrt(82.0)
    a_t = torch.tensor([4.0, 1.0]) / math.sqrt(17.0)  # sorted descending
    expected = (a_s - a_t).pow(2).sum().item()
    loss = HybridAttentionLoss(spatial_weight=0.0, channel_pairing='sorted')
    assert loss(s, t).item() == pytest.approx(expected)
    with pytest.raises(ValueError, match="channel_pairing must be one of"):
        HybridAttentionLoss(channel_pairing='greedy')


def test_zero_for_equal_features_and_gradient_to_student_only():
    torch.manual_seed(0)
    t = torch.randn(2, 8, 4, 4, requires_grad=True)
    assert hybrid_attention_loss(t.detach(), t).item() == pytest.approx(0.0, abs=1e-7)
    s = torch.randn(2, 8, 4, 4, requires_grad=True)
    HybridAttentionLoss()(s, t).backward()
    assert s.grad.abs().sum() > 0 and t.grad is None


def test_scale_invariant_attention():
    torch.manual_seed(0)
    s, t = torch.randn(2, 4, 3, 3), torch.randn(2, 4, 3, 3)
    a = hybrid_attention_loss(s, t)
    torch.testing.assert_close(hybrid_attention_loss(5.0 * s, t), a)


def test_mismatches_and_bad_fields_are_named():
    with pytest.raises(ValueError, match='channel attention: student has 4 channels, '
                       'teacher 8; put an ActiveChannelSelector'):
        hybrid_attention_loss(torch.ones(1, 4, 2, 2), torch.ones(1, 8, 2, 2))
    # different widths are fine for the spatial term alone
    hybrid_attention_loss(torch.ones(1, 4, 2, 2), torch.ones(1, 8, 2, 2),
                          channel_weight=0.0)
    with pytest.raises(ValueError, match='spatial attention: student feature size'):
        hybrid_attention_loss(torch.ones(1, 4, 2, 2), torch.ones(1, 4, 4, 4))
    for kwargs, field in ((dict(p=0), 'p'), (dict(spatial_weight=-1), 'spatial_weight'),
                          (dict(channel_weight='x'), 'channel_weight'),
                          (dict(spatial_weight=0, channel_weight=0), 'both 0')):
        with pytest.raises(ValueError, match=field):
            HybridAttentionLoss(**kwargs)


def test_mean_reduction_is_ats_normalisation():
    from mmrazor.models.losses import ATLoss
    torch.manual_seed(0)
    s, t = torch.randn(3, 4, 5, 6), torch.randn(3, 8, 5, 6)
    # spatial term alone, 'mean': MMRazor's ATLoss (mean over samples and positions)
    ours = hybrid_attention_loss(s, t, channel_weight=0.0, reduction='mean')
    assert ours.item() == pytest.approx(ATLoss()(s, t).item(), rel=1e-5)
    # 'sum' is H * W times that, for the spatial term
    summed = hybrid_attention_loss(s, t, channel_weight=0.0)
    assert summed.item() == pytest.approx(30 * ours.item(), rel=1e-5)
    # the channel term is averaged over the C channels
    s2, t2 = feat([[1.0, 1.0], [0.0, 0.0]]), feat([[0.0, 0.0], [1.0, 1.0]])
    assert hybrid_attention_loss(s2, t2, reduction='mean').item() == pytest.approx(1.0)
    with pytest.raises(ValueError, match="reduction must be one of"):
        HybridAttentionLoss(reduction='max')
