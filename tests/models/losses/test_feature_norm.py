"""Per-channel standardisation and the `normalize` option of the feature losses."""
import pytest
import torch

from kd_plugins.models.losses import (AttentionGuidedImitationLoss,
                                      ConfidenceMaskedFeatureLoss, InfoMapDistillLoss)
from kd_plugins.models.losses.feature_norm import standardize


def test_standardize_by_hand():
    f = torch.tensor([[[[0.0, 2.0]], [[5.0, 5.0]]]])  # (1, 2, 1, 2)
    out = standardize(f)
    torch.testing.assert_close(out[0, 0], torch.tensor([[-1.0, 1.0]]), atol=1e-4, rtol=0)
    torch.testing.assert_close(out[0, 1], torch.zeros(1, 2))  # constant channel: 0


def scaled_pair(seed=0):
    g = torch.Generator().manual_seed(seed)
    t = torch.randn(2, 4, 5, 5, generator=g)
    scale = torch.tensor([0.5, 3.0, 10.0, 1.0]).view(1, 4, 1, 1)
    return 2.0 + scale * t, t  # each student channel an affine copy of the teacher's


@pytest.mark.parametrize('make,extra', [
    (lambda n: InfoMapDistillLoss(normalize=n), ()),
    (lambda n: AttentionGuidedImitationLoss(attention_weight=0.0, normalize=n), ()),
    (lambda n: ConfidenceMaskedFeatureLoss('RPNHead', conf_thr=0.5, normalize=n),
     (torch.zeros(2, 3, 5, 5), )),
])
def test_normalized_losses_ignore_per_channel_scale(make, extra):
    s, t = scaled_pair()
    assert make(True)(s, t, *extra).item() == pytest.approx(0.0, abs=1e-6)
    assert make(False)(s, t, *extra).item() > 1.0
    # and still see a different pattern
    other = torch.randn(2, 4, 5, 5, generator=torch.Generator().manual_seed(5))
    assert make(True)(other, t, *extra).item() > 0.1
