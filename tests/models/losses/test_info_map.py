"""M4 information map and loss on hand-checkable tensors."""
import math

import pytest
import torch

from kd_plugins.models.losses import InfoMapDistillLoss, information_map


def test_uniform_deviation_gives_uniform_map():
    f = torch.tensor([0.0, 2.0]).reshape(1, 1, 1, 2)  # both 1 away from the mean
    torch.testing.assert_close(information_map(f, 1.0), torch.ones(1, 1, 2))


def test_outstanding_location_gets_more_weight_by_hand():
    f = torch.tensor([0.0, 0.0, 0.0, 4.0]).reshape(1, 1, 2, 2)
    # mean 1, distances 1 1 1 3, normalised by their mean 1.5: 2/3 2/3 2/3 2
    e_low, e_high = math.exp(2 / 3), math.exp(2.0)
    z = 3 * e_low + e_high
    expected = torch.tensor([4 * e_low / z] * 3 + [4 * e_high / z]).reshape(1, 2, 2)
    info = information_map(f, 1.0)
    torch.testing.assert_close(info, expected)
    assert info.sum().item() == pytest.approx(4.0)
    # a lower temperature concentrates it further
    assert information_map(f, 0.25)[0, 1, 1] > info[0, 1, 1]


def test_map_is_scale_free():
    f = torch.randn(2, 8, 5, 5, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(information_map(f, 0.5), information_map(7.0 * f, 0.5))


def test_loss_is_map_weighted_mse():
    t = torch.tensor([0.0, 0.0, 0.0, 4.0]).reshape(1, 1, 2, 2)
    loss = InfoMapDistillLoss(temperature=1.0, loss_weight=2.0)
    assert loss(t + 1.0, t).item() == pytest.approx(2.0)  # map averages 1
    s = t.clone()
    s[0, 0, 1, 1] += 2.0  # error only at the informative location
    info = information_map(t, 1.0)
    assert loss(s, t).item() == pytest.approx(2.0 * info[0, 1, 1].item() * 4.0 / 4)
    assert loss(t, t).item() == 0.0


def test_gradients_reach_the_student_only_and_shapes_are_checked():
    t = torch.randn(1, 4, 3, 3, requires_grad=True)
    s = torch.randn(1, 4, 3, 3, requires_grad=True)
    InfoMapDistillLoss()(s, t).backward()
    assert s.grad.abs().sum() > 0 and t.grad is None
    with pytest.raises(ValueError, match='connector'):
        InfoMapDistillLoss()(torch.zeros(1, 2, 3, 3), torch.zeros(1, 4, 3, 3))
    with pytest.raises(ValueError, match='temperature'):
        InfoMapDistillLoss(temperature=0.0)
