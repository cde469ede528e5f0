"""M3 adaptive soft-label loss on hand-checkable tensors."""
import math

import pytest
import torch

from kd_plugins.models.losses import (AdaptiveSoftLabelLoss, ConfidenceSoftLabelLoss,
                                      adaptive_weight, binary_entropy, soft_label_loss)
from mmrazor.registry import MODELS

# KL(Bernoulli(0.5) || Bernoulli(0.75))
KL_HALF_VS_3Q = 0.5 * math.log(0.5 / 0.75) + 0.5 * math.log(0.5 / 0.25)
LN2 = math.log(2.0)


def yolo_map(obj=0., cls=0.):
    """One image, one anchor, one class, one location: (1, 6, 1, 1)."""
    return torch.tensor([0., 0., 0., 0., obj, cls]).reshape(1, 6, 1, 1)


def test_binary_entropy_by_hand():
    h = binary_entropy(torch.tensor([0.0, math.log(3.0)]))
    p = 0.75
    assert h[0].item() == pytest.approx(LN2, abs=1e-6)
    assert h[1].item() == pytest.approx(-(p * math.log(p) + (1 - p) * math.log(1 - p)),
                                        abs=1e-6)


def test_adaptive_weight_by_hand():
    kl = torch.tensor([0.0, 0.5, 0.5])
    ent = torch.tensor([LN2, 0.0, LN2])
    w = adaptive_weight(kl, ent, beta=2.0, gamma=2.0)
    expect = [(1 - math.exp(-(k + 2.0 * e))) ** 2 for k, e in zip(kl.tolist(),
                                                                   ent.tolist())]
    torch.testing.assert_close(w, torch.tensor(expect), atol=1e-6, rtol=0)
    # gamma 0: every term weighs 1; nothing hard (kl = H = 0): weight 0 for gamma > 0
    assert adaptive_weight(kl, ent, 1.0, 0.0).tolist() == [1.0, 1.0, 1.0]
    assert adaptive_weight(torch.zeros(1), torch.zeros(1), 1.0, 1.0).item() == 0.0


def test_hard_for_teacher_and_for_student_weigh_more():
    kl = torch.tensor([0.1, 0.1, 1.0])
    ent = torch.tensor([0.05, 0.6, 0.05])  # confident, uncertain, confident teacher
    w = adaptive_weight(kl, ent, beta=1.5, gamma=1.0)
    assert w[1] > w[0] and w[2] > w[0]  # uncertain teacher / large divergence: up


def test_adaptive_soft_label_yolov3_by_hand():
    t = yolo_map(obj=0.0, cls=0.0)  # teacher 0.5 / 0.5: entropy ln 2 on both terms
    s = yolo_map(obj=math.log(3.0), cls=math.log(3.0))
    beta, gamma = 1.0, 2.0
    w = (1 - math.exp(-(KL_HALF_VS_3Q + beta * LN2))) ** gamma
    loss = AdaptiveSoftLabelLoss('YOLOV3Head', temperature=1.0, beta=beta, gamma=gamma,
                                 num_anchors=1)
    # objectness term + class term (gated by teacher objectness 0.5), both weighted w
    assert loss(s, t).item() == pytest.approx(1.5 * w * KL_HALF_VS_3Q, abs=1e-6)


def test_gamma_zero_is_m2_soft_labels_for_every_layout():
    torch.manual_seed(0)
    cases = [('YOLOV3Head', (2, 3 * 7, 4, 4)), ('RPNHead', (2, 3, 4, 4)),
             ('Shared2FCBBoxHead', (5, 4))]
    for head, shape in cases:
        s, t = torch.randn(shape), torch.randn(shape)
        m3 = AdaptiveSoftLabelLoss(head, temperature=2.0, beta=1.0, gamma=0.0)
        m2 = ConfidenceSoftLabelLoss(head, temperature=2.0)
        torch.testing.assert_close(m3(s, t), m2(s, t))
        # gamma > 0 weighs every term by w <= 1: never more than M2's loss
        m3g = AdaptiveSoftLabelLoss(head, temperature=2.0, beta=1.0, gamma=1.0)
        assert 0 < m3g(s, t).item() < m2(s, t).item()


def test_rpn_and_roi_layouts_by_hand():
    # RPN: one anchor logit, teacher 0 (q = 0.5), student ln 3
    s, t = torch.full((1, 1, 1, 1), math.log(3.0)), torch.zeros(1, 1, 1, 1)
    w = 1 - math.exp(-(KL_HALF_VS_3Q + 0.5 * LN2))
    v = soft_label_loss('RPNHead', s, t, 1.0, weigh=lambda k, e: adaptive_weight(
        k, e, 0.5, 1.0))
    assert v.item() == pytest.approx(w * KL_HALF_VS_3Q, abs=1e-6)
    # RoI softmax: teacher uniform over 2 (entropy ln 2), student [0.75, 0.25]
    s, t = torch.tensor([[math.log(3.0), 0.0]]), torch.zeros(1, 2)
    loss = AdaptiveSoftLabelLoss('BBoxHead', temperature=1.0, beta=0.5, gamma=1.0)
    assert loss(s, t).item() == pytest.approx(w * KL_HALF_VS_3Q, abs=1e-6)


def test_gradient_reaches_student_only_and_weight_is_constant():
    s = torch.randn(2, 3, 4, 4, requires_grad=True)
    t = torch.randn(2, 3, 4, 4, requires_grad=True)
    loss = AdaptiveSoftLabelLoss('RPNHead', temperature=1.0, beta=1.0, gamma=2.0)
    loss(s, t).backward()
    assert s.grad is not None and s.grad.abs().sum() > 0 and t.grad is None
    # the weight is a constant: d/ds of w * KL(q || sigmoid(s)) = w * (sigmoid(s) - q)
    q = t.detach().sigmoid()
    kl = (torch.nn.functional.binary_cross_entropy_with_logits(s.detach(), q,
                                                               reduction='none') -
          binary_entropy(t.detach()))
    w = adaptive_weight(kl, binary_entropy(t.detach()), 1.0, 2.0)
    torch.testing.assert_close(s.grad, w * (s.detach().sigmoid() - q) / 2)


def test_bad_hyper_parameters_name_the_field():
    for field, value in (('beta', -1.0), ('gamma', float('nan')), ('gamma', 'x'),
                         ('beta', True)):
        with pytest.raises(ValueError, match=field):
            AdaptiveSoftLabelLoss('YOLOV3Head', **{field: value})
    with pytest.raises(ValueError, match='temperature'):
        AdaptiveSoftLabelLoss('YOLOV3Head', temperature=0)
    with pytest.raises(ValueError, match='head_type'):
        AdaptiveSoftLabelLoss('FCOSHead')


def test_registered_in_mmrazor():
    loss = MODELS.build(dict(_scope_='mmrazor', type='AdaptiveSoftLabelLoss',
                             head_type='RPNHead', beta=2.0, gamma=0.5))
    assert isinstance(loss, AdaptiveSoftLabelLoss)
    assert (loss.beta, loss.gamma) == (2.0, 0.5)
