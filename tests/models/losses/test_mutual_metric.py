"""M8 losses on hand-checkable tensors: scale-free relational terms, anchor weights and
the student-better gate, the multi-similarity task loss and its positives check."""
import math

import pytest
import torch

from kd_plugins.models.losses.mutual_metric import (MultiSimilarityLoss,
                                                    MutualRelationalLoss,
                                                    MutualSimilarityKLLoss,
                                                    anchor_margins,
                                                    angle_potentials, check_positives,
                                                    multi_similarity_loss,
                                                    neighbour_distributions,
                                                    relational_angle_loss,
                                                    relational_distance_loss,
                                                    relative_distances,
                                                    similarity_kl_loss,
                                                    student_better_anchors)

# a 3-4-5 right triangle: distances 3, 4, 5, mean over pairs 4
TRIANGLE = torch.tensor([[0., 0.], [3., 0.], [0., 4.]])
# three points on a line: distances 1, 2, 1, mean 4 / 3
LINE = torch.tensor([[0., 0.], [1., 0.], [2., 0.]])


def test_relative_distances_by_hand():
    d = relative_distances(TRIANGLE)
    expect = torch.tensor([[0., 0.75, 1.], [0.75, 0., 1.25], [1., 1.25, 0.]])
    assert torch.allclose(d, expect, atol=1e-6)
    # scale-free and translation-free
    assert torch.allclose(relative_distances(TRIANGLE * 7 + 3), expect, atol=1e-5)


def test_angle_potentials_by_hand():
    pts = torch.tensor([[0., 0.], [1., 0.], [0., 1.]])
    a = angle_potentials(pts)
    assert a.shape == (3, 3, 3)
    assert a[0, 1, 2].item() == pytest.approx(0.0, abs=1e-6)  # right angle at 0
    assert a[1, 0, 2].item() == pytest.approx(1 / math.sqrt(2), abs=1e-6)  # 45 degrees
    assert a[2, 0, 1].item() == pytest.approx(1 / math.sqrt(2), abs=1e-6)
    assert a[0, 1, 1].item() == pytest.approx(1.0, abs=1e-6)
    assert a[0, 0, 1].item() == 0.0  # the vertex itself


def test_distance_loss_by_hand_and_anchor_weights():
    # triangle 0.75 / 1 / 1.25 vs line 0.75 / 1.5 / 0.75: differences 0, -0.5, 0.5;
    # Huber 0.5 x^2 = 0.125 each for the last two; every pair counted from both ends:
    # (2 * 0.125 + 2 * 0.125) / (3 anchors * 2 others) = 1 / 12
    loss = relational_distance_loss(TRIANGLE, LINE)
    assert loss.item() == pytest.approx(1 / 12, abs=1e-6)
    # only anchor 0: pairs (0, 1) -> 0 and (0, 2) -> 0.125, over 2 others
    w = torch.tensor([1., 0., 0.])
    assert relational_distance_loss(TRIANGLE, LINE, w).item() == \
        pytest.approx(0.0625, abs=1e-6)
    # anchor 1: (1, 0) -> 0, (1, 2) -> 0.125
    w = torch.tensor([0., 1., 0.])
    assert relational_distance_loss(TRIANGLE, LINE, w).item() == \
        pytest.approx(0.0625, abs=1e-6)
    # no anchor: zero, still differentiable
    x = TRIANGLE.clone().requires_grad_()
    zero = relational_distance_loss(x, LINE, torch.zeros(3))
    zero.backward()
    assert zero.item() == 0.0 and torch.count_nonzero(x.grad) == 0


def test_angle_loss_by_hand():
    # right angle at vertex 0 vs a straight line: the vertex-0 cosines of (1, 2) and
    # (2, 1) are 0 vs -1 (Huber 0.5); vertex 1: pts (0,0),(1,0),(0,1) cos(0,2)=1/sqrt2
    # vs line cos(0,2) = -1; vertex 2: 1/sqrt2 vs 1
    pts = torch.tensor([[0., 0.], [1., 0.], [0., 1.]])
    line = torch.tensor([[0., 0.], [-1., 0.], [1., 0.]])  # 0 between 1 and 2
    ap, at = angle_potentials(pts), angle_potentials(line)
    huber = torch.nn.functional.smooth_l1_loss(ap, at, reduction='none')
    expect = huber.sum() / (3 * 4)
    assert relational_angle_loss(pts, line).item() == pytest.approx(expect.item())
    # vertex 0 alone: two cells of Huber(1) = 0.5 over (N - 1)^2 = 4
    w = torch.tensor([1., 0., 0.])
    assert relational_angle_loss(pts, line, w).item() == pytest.approx(1.0 / 4)
    assert relational_angle_loss(pts, pts * 3).item() == pytest.approx(0.0, abs=1e-6)


def test_relational_loss_is_invariant_to_scale_and_rotation_and_grads_preds_only():
    g = torch.Generator().manual_seed(0)
    preds = torch.randn(6, 4, generator=g, requires_grad=True)
    rot, _ = torch.linalg.qr(torch.randn(4, 4, generator=g))
    crit = MutualRelationalLoss(with_l2_norm=False)
    assert crit(preds, (preds @ rot * 5).detach()).item() == pytest.approx(0, abs=1e-5)
    target = torch.randn(6, 16, generator=g, requires_grad=True)  # other width: fine
    loss = MutualRelationalLoss(loss_weight=3.0)(preds, target)
    loss.backward()
    assert loss.item() > 0 and preds.grad.abs().sum() > 0 and target.grad is None
    # the weights combine as written
    a = MutualRelationalLoss(distance_weight=1, angle_weight=0, with_l2_norm=False)
    b = MutualRelationalLoss(distance_weight=0, angle_weight=1, with_l2_norm=False)
    both = MutualRelationalLoss(distance_weight=2, angle_weight=3, loss_weight=0.5,
                                with_l2_norm=False)
    p, t = preds.detach(), target.detach()
    assert both(p, t).item() == pytest.approx(0.5 * (2 * a(p, t) + 3 * b(p, t)).item(),
                                              rel=1e-5)


def test_relational_loss_rejects_bad_shapes():
    with pytest.raises(ValueError, match='one row per sample'):
        MutualRelationalLoss()(torch.randn(4, 3), torch.randn(5, 3))
    with pytest.raises(ValueError, match='>= 2 embeddings'):
        relative_distances(torch.randn(1, 3))
    with pytest.raises(ValueError, match='distance_weight'):
        MutualRelationalLoss(distance_weight=-1)


def test_anchor_margins_and_student_better_gate():
    # 1-D points: class 0 at 0 and 1, class 1 at 3 and 10; distances / mean
    emb = torch.tensor([[0.], [1.], [3.], [10.]])
    labels = torch.tensor([0, 0, 1, 1])
    d = torch.cdist(emb, emb)
    mu = d[~torch.eye(4, dtype=torch.bool)].mean()
    expect = torch.tensor([3 - 1, 2 - 1, 2 - 7, 9 - 7]) / mu
    assert torch.allclose(anchor_margins(emb, labels), expect, atol=1e-6)
    # the student separates class 1 (anchors 2, 3) better, the teacher class 0
    student = torch.tensor([[0., 1.], [0.5, 1.], [1., -1.], [1., -0.8]])
    teacher = torch.tensor([[0., 1.], [0.01, 1.], [1., 0.6], [-1., 0.2]])
    gate = student_better_anchors(student, teacher, labels)
    s = anchor_margins(torch.nn.functional.normalize(student, dim=1), labels)
    t = anchor_margins(torch.nn.functional.normalize(teacher, dim=1), labels)
    assert torch.equal(gate, (s > t).float())
    assert 0 < gate.sum() < 4


def test_multi_similarity_loss_by_hand():
    # unit vectors; labels 0, 0, 1, 1; cosine similarities
    # S01 = 0.6, S02 = 0, S03 = -1, S12 = 0.8, S13 = -0.6, S23 = 0
    emb = torch.tensor([[1., 0.], [0.6, 0.8], [0., 1.], [-1., 0.]])
    labels = torch.tensor([0, 0, 1, 1])
    a, b, lam = 2.0, 50.0, 0.5
    # anchor 0: positive 0.6 not < max negative 0 + 0.1, negatives not > 0.6 - 0.1: 0
    # anchor 1: positive 0.6 kept (< 0.8 + 0.1); negative 0.8 kept (> 0.5), -0.6 not
    l1 = math.log1p(math.exp(-a * (0.6 - lam))) / a + \
        math.log1p(math.exp(b * (0.8 - lam))) / b
    # anchor 2: positive 0 kept (< 0.9); negatives 0 and 0.8 kept (> -0.1)
    l2 = math.log1p(math.exp(-a * (0 - lam))) / a + \
        math.log1p(math.exp(b * (0 - lam)) + math.exp(b * (0.8 - lam))) / b
    # anchor 3: positive 0 not < -0.6 + 0.1; negatives -1, -0.6 not > -0.1: 0
    expect = (l1 + l2) / 4
    assert multi_similarity_loss(emb, labels).item() == pytest.approx(expect, rel=1e-5)
    # scale of the embeddings does not matter (cosine), the weight does
    crit = MultiSimilarityLoss(loss_weight=2.0)
    assert crit(emb * 4, labels).item() == pytest.approx(2 * expect, rel=1e-5)


def test_multi_similarity_loss_pulls_positives_together():
    g = torch.Generator().manual_seed(1)
    emb = torch.randn(8, 5, generator=g, requires_grad=True)
    labels = torch.tensor([0, 0, 1, 1, 2, 2, 3, 3])
    opt = torch.optim.SGD([emb], lr=0.5)
    first = multi_similarity_loss(emb, labels).item()
    for _ in range(50):
        opt.zero_grad()
        loss = multi_similarity_loss(emb, labels)
        loss.backward()
        opt.step()
    assert loss.item() < 0.5 * first


@pytest.mark.parametrize('labels,match', [
    ([0, 0, 1], r'1 class\(es\) of this batch of 3 have a single sample'),
    ([2, 2, 2, 2], 'one class'),
])
def test_batch_without_positives_or_negatives_is_an_error(labels, match):
    with pytest.raises(ValueError, match=match) as err:
        check_positives(torch.tensor(labels))
    assert 'ClassBalancedSampler' in str(err.value)
    with pytest.raises(ValueError, match='multi-similarity'):
        multi_similarity_loss(torch.randn(len(labels), 3), torch.tensor(labels))


def test_neighbour_distributions_by_hand():
    # unit vectors at 0, 90 and 180 degrees: anchor 0 sees cosines 0 (to 1) and -1 (to
    # 2), so p_0 = softmax(0 / tau, -1 / tau) over its two neighbours
    pts = torch.tensor([[1., 0.], [0., 3.], [-2., 0.]])
    tau = 0.5
    log_p = neighbour_distributions(pts, tau)
    z = math.exp(0.0) + math.exp(-1 / tau)
    assert log_p[0, 1].exp().item() == pytest.approx(1 / z, abs=1e-6)
    assert log_p[0, 2].exp().item() == pytest.approx(math.exp(-2.0) / z, abs=1e-6)
    assert torch.isinf(log_p.diagonal()).all()  # an anchor is not its own neighbour
    assert torch.allclose(log_p.exp().nan_to_num().sum(1), torch.ones(3), atol=1e-6)


def test_similarity_kl_loss_by_hand_and_anchor_weights():
    pts = torch.tensor([[1., 0.], [0., 1.], [-1., 0.]])
    other = torch.tensor([[1., 0.], [-1., 0.], [0., 1.]])  # neighbours 1 and 2 swapped
    tau = 1.0
    p, q = neighbour_distributions(pts, tau).exp(), neighbour_distributions(other, tau).exp()

    def kl(i):
        return sum(q[i, j] * math.log(q[i, j] / p[i, j]) for j in range(3) if j != i)

    per = [kl(i).item() for i in range(3)]
    assert per[0] > 0  # anchor 0's nearest neighbour differs
    assert similarity_kl_loss(pts, other, tau).item() == pytest.approx(sum(per) / 3,
                                                                       abs=1e-6)
    w = torch.tensor([0., 1., 1.])
    assert similarity_kl_loss(pts, other, tau, w).item() == pytest.approx(
        (per[1] + per[2]) / 2, abs=1e-6)
    # zero for the same neighbourhoods (any scale, any width), and no anchor: zero
    assert similarity_kl_loss(pts, pts * 4, tau).item() == pytest.approx(0, abs=1e-6)
    assert similarity_kl_loss(pts, other, tau, torch.zeros(3)).item() == 0.0


def test_similarity_kl_loss_module_grads_preds_only_and_rejects_bad_input():
    g = torch.Generator().manual_seed(1)
    preds = torch.randn(8, 4, generator=g, requires_grad=True)
    target = torch.randn(8, 16, generator=g, requires_grad=True)  # other width: fine
    loss = MutualSimilarityKLLoss(tau=0.1, loss_weight=2.0)(preds, target)
    loss.backward()
    assert loss.item() > 0 and preds.grad.abs().sum() > 0 and target.grad is None
    half = MutualSimilarityKLLoss(tau=0.1, loss_weight=1.0)(preds.detach(), target)
    assert loss.item() == pytest.approx(2 * half.item(), rel=1e-6)
    # a step down the gradient brings the neighbourhoods closer
    with torch.no_grad():
        moved = preds - 0.05 * preds.grad
    assert similarity_kl_loss(moved, target, 0.1) < similarity_kl_loss(preds, target, 0.1)
    with pytest.raises(ValueError, match='tau'):
        MutualSimilarityKLLoss(tau=0)
    with pytest.raises(ValueError, match='one row per sample'):
        MutualSimilarityKLLoss()(torch.randn(4, 3), torch.randn(5, 3))
