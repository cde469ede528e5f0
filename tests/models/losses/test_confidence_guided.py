"""M2 confidence-guided losses (and M1's box term) on hand-checkable tensors."""
import math

import pytest
import torch

from kd_plugins.models.losses import (ConfidenceMaskedFeatureLoss,
                                      ConfidenceSoftLabelLoss, ConfidentRegressionLoss,
                                      binary_kl, boxes_to_mask, check_head_type,
                                      confidence_map, confidence_masked_feature_loss,
                                      soft_label_loss, split_yolov3)

# KL(Bernoulli(0.5) || Bernoulli(0.75)) = KL([.5, .5] || [.75, .25])
KL_HALF_VS_3Q = 0.5 * math.log(0.5 / 0.75) + 0.5 * math.log(0.5 / 0.25)


def yolo_map(tx=0., ty=0., tw=0., th=0., obj=0., cls=0.):
    """One image, one anchor, one class, one location: (1, 6, 1, 1)."""
    return torch.tensor([tx, ty, tw, th, obj, cls]).reshape(1, 6, 1, 1)


def test_binary_kl_zero_for_equal_and_known_value():
    x = torch.tensor([-2.0, 0.0, 3.0])
    torch.testing.assert_close(binary_kl(x, x), torch.zeros(3), atol=1e-7, rtol=0)
    v = binary_kl(torch.tensor(math.log(3.0)), torch.tensor(0.0))
    assert v.item() == pytest.approx(KL_HALF_VS_3Q, abs=1e-6)


def test_yolov3_layout_split_is_anchor_major():
    # 2 anchors x (5 + 2 classes) = 14 channels; anchor 1 objectness is channel 7 + 4
    m = torch.arange(14.).reshape(1, 14, 1, 1)
    reg, obj, cls = split_yolov3(m, num_anchors=2)
    assert reg.shape == (1, 2, 4, 1, 1) and obj.shape == (1, 2, 1, 1)
    assert obj[0, 1].item() == 11.0 and cls[0, 1, :, 0, 0].tolist() == [12.0, 13.0]
    conf = confidence_map('YOLOV3Head', yolo_map(obj=0., cls=0.), num_anchors=1)
    assert conf.item() == pytest.approx(0.25)  # 0.5 objectness x 0.5 class


def test_soft_labels_yolov3_by_hand():
    t = yolo_map(obj=0.0, cls=0.0)
    # only objectness differs: one binary KL
    s = yolo_map(obj=math.log(3.0), cls=0.0)
    v = soft_label_loss('YOLOV3Head', s, t, temperature=1.0, num_anchors=1)
    assert v.item() == pytest.approx(KL_HALF_VS_3Q, abs=1e-6)
    # class differs too: weighted by the teacher objectness 0.5
    s = yolo_map(obj=math.log(3.0), cls=math.log(3.0))
    v = soft_label_loss('YOLOV3Head', s, t, temperature=1.0, num_anchors=1)
    assert v.item() == pytest.approx(1.5 * KL_HALF_VS_3Q, abs=1e-6)
    # temperature 2: logits halved, loss scaled by 4
    s = yolo_map(obj=math.log(3.0))
    p = 1.0 / (1.0 + 3.0**-0.5)  # sigmoid(log(3) / 2)
    expected = 4 * (0.5 * math.log(0.5 / p) + 0.5 * math.log(0.5 / (1 - p)))
    v = soft_label_loss('YOLOV3Head', s, t, temperature=2.0, num_anchors=1)
    assert v.item() == pytest.approx(expected, abs=1e-6)
    assert soft_label_loss('YOLOV3Head', t, t, 2.0, 1).item() == pytest.approx(0, abs=1e-7)


def test_soft_labels_rpn_and_roi_by_hand():
    t = torch.zeros(2, 3, 4, 4)  # RPN objectness logits, 2 images
    s = t.clone()
    s[0, 1, 2, 2] = math.log(3.0)
    v = soft_label_loss('RPNHead', s, t, 1.0)
    assert v.item() == pytest.approx(KL_HALF_VS_3Q / 2, abs=1e-6)  # / num images
    t_roi = torch.tensor([[0.0, 0.0], [1.0, 2.0]])  # 2 RoIs, 1 class + background
    s_roi = torch.tensor([[math.log(3.0), 0.0], [1.0, 2.0]])
    v = soft_label_loss('BBoxHead', s_roi, t_roi, 1.0)
    assert v.item() == pytest.approx(KL_HALF_VS_3Q / 2, abs=1e-6)  # / num RoIs


def test_confident_regression_only_where_teacher_is_sure():
    # two locations: teacher sure at (0, 0), not at (0, 1)
    t = torch.cat([yolo_map(obj=10., cls=10.), yolo_map(obj=-10., cls=10.)], dim=3)
    s = t.clone()
    s[0, 2, 0, 0] += 1.0  # tw off by 1 where the teacher is sure
    s[0, 2, 0, 1] += 5.0  # and by 5 where it is not: ignored
    loss = ConfidentRegressionLoss('YOLOV3Head', conf_thr=0.3, num_anchors=1)
    c0 = torch.sigmoid(torch.tensor(10.)).item()**2
    assert loss(s, t).item() == pytest.approx(c0 * 1.0, rel=1e-5)
    # xy are compared after the sigmoid YOLOv3 applies when decoding
    s2 = t.clone()
    s2[0, 0, 0, 0] = 2.0  # tx
    expected = c0 * (torch.sigmoid(torch.tensor(2.)).item() - 0.5)**2
    assert loss(s2, t).item() == pytest.approx(expected, rel=1e-5)


def test_confident_regression_rpn_and_roi_need_and_use_conf():
    reg_t = torch.zeros(1, 4, 1, 2)  # 1 anchor, 2 locations
    reg_s = reg_t.clone()
    reg_s[0, 0, 0, 0] = 2.0
    reg_s[0, 0, 0, 1] = 3.0
    cls_t = torch.tensor([[[[20.0, -20.0]]]])  # sure at location 0 only
    loss = ConfidentRegressionLoss('RPNHead', conf_thr=0.5, num_anchors=1)
    assert loss(reg_s, reg_t, cls_t).item() == pytest.approx(4.0, rel=1e-5)
    with pytest.raises(ValueError, match='conf_T'):
        loss(reg_s, reg_t)
    roi = ConfidentRegressionLoss('Shared2FCBBoxHead', conf_thr=0.5)
    score_t = torch.tensor([[20.0, -20.0], [-20.0, 20.0]])  # RoI 0 fg, RoI 1 bg
    box_t = torch.zeros(2, 4)
    box_s = torch.tensor([[1.0, 0, 0, 0], [9.0, 0, 0, 0]])
    assert roi(box_s, box_t, score_t).item() == pytest.approx(1.0, rel=1e-5)


def test_boxes_to_mask_by_hand():
    boxes = [torch.tensor([[0., 0., 8., 8.], [9., 17., 20., 24.]])]
    mask = boxes_to_mask(boxes, (32, 32), (4, 4))
    expected = torch.zeros(1, 4, 4)
    expected[0, 0, 0] = 1
    expected[0, 2, 1:3] = 1
    torch.testing.assert_close(mask, expected)


def test_confidence_masked_feature_by_hand():
    t = torch.zeros(1, 1, 2, 2)
    s = torch.tensor([[[[2.0, 1.0], [1.0, 1.0]]]])
    conf = torch.tensor([[[0.9, 0.0], [0.0, 0.0]]])
    v = confidence_masked_feature_loss(s, t, conf, conf_thr=0.5, bg_weight=0.1)
    assert v.item() == pytest.approx(4.0 + 0.1 * 1.0)
    gt = torch.tensor([[[0.0, 0.0], [0.0, 1.0]]])
    v = confidence_masked_feature_loss(s, t, conf, 0.5, 0.1, gt_mask=gt)
    assert v.item() == pytest.approx((0.9 * 4 + 1.0) / 1.9 + 0.1 * 1.0)


def test_masked_feature_module_uses_gt_only_when_given():
    loss = ConfidenceMaskedFeatureLoss('YOLOV3Head', conf_thr=0.5, num_anchors=1)
    head_t = torch.full((1, 6, 4, 4), -10.0)  # teacher sure of nothing
    feat_t = torch.zeros(1, 2, 4, 4)
    feat_s = torch.randn(1, 2, 4, 4, generator=torch.Generator().manual_seed(0))
    without = loss(feat_s, feat_t, head_t)
    loss.set_gt([torch.tensor([[0., 0., 8., 8.]])], (32, 32))
    with_gt = loss(feat_s, feat_t, head_t)
    loss.set_gt(None)
    assert loss(feat_s, feat_t, head_t).item() == pytest.approx(without.item())
    assert with_gt.item() != pytest.approx(without.item())
    d = feat_s.pow(2).mean(dim=1)[0]
    assert with_gt.item() == pytest.approx(d[0, 0].item() + 0.1 * (d.sum() - d[0, 0]).item() / 15,
                                           rel=1e-5)


def test_gradients_reach_the_student_only():
    t = torch.randn(2, 30, 5, 5, requires_grad=True)
    s = torch.randn(2, 30, 5, 5, requires_grad=True)
    loss = ConfidenceSoftLabelLoss('YOLOV3Head', temperature=2.0)(s, t) + \
        ConfidentRegressionLoss('YOLOV3Head', conf_thr=0.0)(s, t)
    loss.backward()
    assert s.grad is not None and s.grad.abs().sum() > 0
    assert t.grad is None


@pytest.mark.parametrize('cls,kwargs,field', [
    (ConfidenceSoftLabelLoss, dict(head_type='FCOSHead'), 'head_type'),
    (ConfidentRegressionLoss, dict(head_type='ATSSHead'), 'head_type'),
    (ConfidentRegressionLoss, dict(head_type='RetinaHead', num_anchors=0), 'num_anchors'),
    (ConfidenceMaskedFeatureLoss, dict(head_type='BBoxHead'), 'head_type'),
    (ConfidenceSoftLabelLoss, dict(head_type='YOLOV3Head', temperature=0), 'temperature'),
    (ConfidenceSoftLabelLoss, dict(head_type='RPNHead', temperature=-1.0), 'temperature'),
    (ConfidentRegressionLoss, dict(head_type='RPNHead', conf_thr=1.5), 'conf_thr'),
])
def test_bad_arguments_name_the_field(cls, kwargs, field):
    with pytest.raises(ValueError, match=field):
        cls(**kwargs)


def test_check_head_type_lists_the_known_ones():
    assert check_head_type('Shared2FCBBoxHead') == 'BBoxHead'
    with pytest.raises(ValueError, match="unknown head type 'SSDHead'.*YOLOV3Head"):
        check_head_type('SSDHead')
