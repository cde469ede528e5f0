"""M6 multi-teacher, boundary-weighted pixel KD on hand-checkable tensors."""
import math

import pytest
import torch
import torch.nn.functional as F

from kd_plugins.models.losses import (BoundaryAwareMultiTeacherKDLoss,
                                      boundary_pixel_weights, multi_teacher_pixel_kd,
                                      teacher_quality, teacher_weights)


def kl(p):
    """KL((p, 1 - p) || (1/2, 1/2))."""
    return p * math.log(2 * p) + (1 - p) * math.log(2 * (1 - p))


def logits(*pixels):
    """(1, 2, 1, W) logits from per-pixel (class-0, class-1) pairs."""
    return torch.tensor(pixels, dtype=torch.float32).t().reshape(1, 2, 1, -1)


def test_quality_and_weights_by_hand():
    t = logits((2.0, 0.0), (0.0, 2.0), (2.0, 0.0), (0.0, 2.0))  # argmax 0 1 0 1
    labels = torch.tensor([[[0, 1, 1, 255]]])                # 2 of 3 valid pixels hit
    assert teacher_quality(t, labels).item() == pytest.approx(2 / 3)
    uniform = torch.zeros(1, 4, 2, 2)
    assert teacher_quality(uniform).item() == pytest.approx(0.25)  # confidence 1/C
    w = teacher_weights(torch.tensor([[1.0], [0.0]]), temperature=0.5)
    assert w[:, 0].tolist() == pytest.approx([math.e**2 / (math.e**2 + 1),
                                              1 / (math.e**2 + 1)])


def test_label_quality_is_argmax_agreement():
    g = torch.Generator().manual_seed(1)
    t = torch.randn(3, 4, 9, 7, generator=g)
    labels = torch.randint(0, 4, (3, 9, 7), generator=g)
    labels[0, 0, :3] = 255
    valid = labels != 255
    want = ((t.argmax(1) == labels) & valid).flatten(1).sum(1) / valid.flatten(1).sum(1)
    assert torch.allclose(teacher_quality(t, labels), want)


def test_miou_quality_by_hand():
    from kd_plugins.models.losses.multi_teacher_seg import image_miou
    labels = torch.tensor([[[0, 0, 0, 1]], [[2, 2, 255, 255]]])  # (2, 1, 4)
    pred = torch.tensor([[[0, 0, 0, 0]], [[2, 0, 1, 1]]])
    valid = labels != 255
    # image 0: class 0 IoU 3/4, class 1 (missed thin class) 0/1 -> 0.375, where pixel
    # accuracy says 0.75; image 1: class 2 IoU 1/2, class 0 (predicted) 0/1 -> 0.25
    # (the ignored pixels' predictions do not count)
    assert image_miou(pred, labels, valid, 3).tolist() == pytest.approx([0.375, 0.25])
    logits = F.one_hot(pred, 3).permute(0, 3, 1, 2).float()
    assert teacher_quality(logits, labels, label_quality='miou').tolist() == \
        pytest.approx([0.375, 0.25])
    assert teacher_quality(logits, labels).tolist() == pytest.approx([0.75, 0.5])
    nothing = torch.full((1, 1, 4), 255)
    assert image_miou(pred[:1], nothing, nothing != 255, 3).tolist() == [1.0]


def test_miou_quality_weights_a_teacher_that_misses_a_thin_class_down():
    labels = torch.zeros(1, 8, 8, dtype=torch.long)
    labels[0, :, 3] = 1  # a one-pixel-wide "vessel"
    good = F.one_hot(labels, 2).permute(0, 3, 1, 2).float() * 5
    blind = F.one_hot(torch.zeros_like(labels), 2).permute(0, 3, 1, 2).float() * 5
    kw = dict(quality='labels', weight_temperature=0.1)
    from kd_plugins.models.losses.multi_teacher_seg import image_teacher_weights
    w_px = image_teacher_weights([good, blind], labels, **kw)
    w_iou = image_teacher_weights([good, blind], labels, label_quality='miou', **kw)
    assert w_iou[1, 0] < w_px[1, 0] / 10  # pixel accuracy 7/8 hides the missed class
    with pytest.raises(ValueError, match='label_quality'):
        BoundaryAwareMultiTeacherKDLoss(label_quality='iou')


def test_boundary_pixel_weights_by_hand():
    labels = torch.tensor([[[0, 0, 1, 1, 255]]])
    m = boundary_pixel_weights(labels, band_width=0, boundary_weight=2.0)
    assert m.tolist() == [[[1.0, 3.0, 3.0, 1.0, 0.0]]]
    assert boundary_pixel_weights(labels, 1, 2.0)[0, 0].tolist() == [3, 3, 3, 3, 0]


def test_teacher_wrong_on_the_image_teaches_less():
    student = torch.zeros(1, 2, 1, 2)
    labels = torch.tensor([[[0, 1]]])
    good = logits((math.log(3), 0.0), (0.0, math.log(3)))  # right: p = 0.75
    bad = logits((0.0, math.log(9)), (math.log(9), 0.0))   # wrong: p = 0.9
    w_good = math.e**2 / (math.e**2 + 1)  # softmax([1, 0] / 0.5)
    expected = w_good * kl(0.75) + (1 - w_good) * kl(0.9)
    loss = multi_teacher_pixel_kd(student, [good, bad], labels, tau=1.0, band_width=0,
                                  boundary_weight=2.0, weight_temperature=0.5)
    assert loss.item() == pytest.approx(expected, rel=1e-5)
    # equal-weight reference: the bad teacher would pull harder
    assert loss.item() < 0.5 * (kl(0.75) + kl(0.9))
    # the module hands back the weights it used (the M6 feature term reuses them)
    module = BoundaryAwareMultiTeacherKDLoss(band_width=0, weight_temperature=0.5,
                                             loss_weight=2.0)
    weighted, w = module.forward_with_weights(student, [good, bad], labels)
    assert weighted.item() == pytest.approx(2 * expected, rel=1e-5)
    assert w[:, 0].tolist() == pytest.approx([w_good, 1 - w_good])


def test_boundary_pixels_count_more():
    labels = torch.tensor([[[0, 0, 1, 1]]])  # m = 1, 3, 3, 1 (sum 8)
    student = torch.zeros(1, 2, 1, 4)
    far = logits((math.log(3), 0.0), (0.0, 0.0), (0.0, 0.0), (0.0, 0.0))
    near = logits((0.0, 0.0), (math.log(3), 0.0), (0.0, 0.0), (0.0, 0.0))
    kwargs = dict(band_width=0, boundary_weight=2.0)
    assert multi_teacher_pixel_kd(student, [far], labels, **kwargs).item() == \
        pytest.approx(kl(0.75) / 8, rel=1e-5)
    assert multi_teacher_pixel_kd(student, [near], labels, **kwargs).item() == \
        pytest.approx(3 * kl(0.75) / 8, rel=1e-5)


def test_no_labels_uses_confidence_and_gradient_reaches_student_only():
    torch.manual_seed(0)
    s = torch.randn(2, 3, 8, 8, requires_grad=True)
    t1 = torch.randn(2, 3, 4, 4, requires_grad=True)  # other resolution: resized
    t2 = torch.randn(2, 3, 8, 8)
    loss = BoundaryAwareMultiTeacherKDLoss(tau=2.0, loss_weight=0.5)(s, [t1, t2])
    loss.backward()
    assert loss.item() > 0 and s.grad.abs().sum() > 0 and t1.grad is None
    same = multi_teacher_pixel_kd(s.detach(), [s.detach(), s.detach()])
    assert same.item() == pytest.approx(0.0, abs=1e-7)


def test_bad_input_is_named():
    s = torch.zeros(1, 2, 4, 4)
    with pytest.raises(ValueError, match='at least one teacher'):
        multi_teacher_pixel_kd(s, [])
    with pytest.raises(ValueError, match=r'teacher 0 logits \(1, 3, 4, 4\)'):
        multi_teacher_pixel_kd(s, [torch.zeros(1, 3, 4, 4)])
    with pytest.raises(ValueError, match="quality='labels' needs labels"):
        multi_teacher_pixel_kd(s, [s], quality='labels')
    for kwargs, msg in ((dict(tau=0), 'tau'), (dict(band_width=-1), 'band_width'),
                        (dict(quality='vote'), 'quality must be one of'),
                        (dict(weight_temperature=0), 'weight_temperature'),
                        (dict(boundary_weight=-1), 'boundary_weight')):
        with pytest.raises(ValueError, match=msg):
            BoundaryAwareMultiTeacherKDLoss(**kwargs)


def test_registered_in_mmrazor(mmrazor_scope):
    from mmrazor.registry import MODELS
    loss = MODELS.build(dict(type='BoundaryAwareMultiTeacherKDLoss', band_width=5))
    assert isinstance(loss, BoundaryAwareMultiTeacherKDLoss) and loss.band_width == 5
