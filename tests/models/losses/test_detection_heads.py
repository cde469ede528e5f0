"""The dense-head layouts of the confidence-guided losses (issue 18): RetinaNet, GFL,
RTMDet and YOLOX outputs, read from the real mmdet heads, give the documented
confidence, soft-label, box and feature terms; a detector without the loss's head fails
at build naming both."""
import pytest
import torch
import torch.nn.functional as F

from kd_plugins.models.losses import (ConfidenceMaskedFeatureLoss, ConfidenceSoftLabelLoss,
                                      ConfidentRegressionLoss, binary_kl, box_error,
                                      box_values, check_detector_heads, confidence_map,
                                      detector_head_layouts)
from kd_plugins.models.losses.detection_heads import head_layout_of

C = 3  # classes
STRIDES = [8, 16, 32]


def build_head(kind):
    from mmdet.registry import MODELS
    from mmengine.registry import init_default_scope
    init_default_scope('mmdet')
    common = dict(num_classes=C, in_channels=8, feat_channels=8, stacked_convs=1,
                  norm_cfg=dict(type='BN'))
    cfg = {
        'RetinaHead': dict(type='RetinaHead', anchor_generator=dict(
            type='AnchorGenerator', octave_base_scale=4, scales_per_octave=3,
            ratios=[0.5, 1.0, 2.0], strides=STRIDES)),
        'GFLHead': dict(type='GFLHead', anchor_generator=dict(
            type='AnchorGenerator', ratios=[1.0], octave_base_scale=8,
            scales_per_octave=1, strides=STRIDES)),
        'RTMDetSepBNHead': dict(type='RTMDetSepBNHead', anchor_generator=dict(
            type='MlvlPointGenerator', offset=0, strides=STRIDES),
            bbox_coder=dict(type='DistancePointBBoxCoder'), exp_on_reg=False),
        'YOLOXHead': dict(type='YOLOXHead', strides=STRIDES),
    }[kind]
    return MODELS.build(dict(cfg, **common))


def head_outputs(head, seed):
    """Per-level ``(cls, box, obj or None)`` of the head on random features."""
    g = torch.Generator().manual_seed(seed)
    feats = tuple(torch.randn(2, 8, 32 // 2**i, 32 // 2**i, generator=g)
                  for i in range(len(STRIDES)))
    out = head(feats)
    obj = out[2] if len(out) > 2 else [None] * len(STRIDES)
    return list(zip(out[0], out[1], obj))


HEADS = [('RetinaHead', 'RetinaHead', 9), ('GFLHead', 'GFLHead', 1),
         ('RTMDetSepBNHead', 'RTMDetHead', 1), ('YOLOXHead', 'YOLOXHead', 1)]


@pytest.mark.parametrize('kind,head_type,anchors', HEADS, ids=[h[0] for h in HEADS])
def test_dense_head_terms_on_real_head_outputs(kind, head_type, anchors):
    torch.manual_seed(0)
    s_head, t_head = build_head(kind), build_head(kind)
    assert head_layout_of(s_head) == head_type  # RTMDetSepBNHead -> RTMDetHead
    soft = ConfidenceSoftLabelLoss(kind, temperature=2.0)
    reg = ConfidentRegressionLoss(kind, conf_thr=0.0)
    feat = ConfidenceMaskedFeatureLoss(kind, conf_thr=0.0)
    assert soft.num_anchors == reg.num_anchors == anchors  # the head's mmdet default
    for (cls_s, box_s, obj_s), (cls_t, box_t, obj_t) in zip(
            head_outputs(s_head, 1), head_outputs(t_head, 2)):
        cls_s.retain_grad()
        conf = confidence_map(head_type, cls_t, anchors, obj_t)
        n, _, h, w = cls_t.shape
        want = cls_t.reshape(n, anchors, C, h, w).sigmoid().amax(2)
        if obj_t is not None:
            want = want * obj_t.sigmoid()
        torch.testing.assert_close(conf, want)
        # soft labels: T^2 / N * sum of binary KLs; zero against itself
        v = soft(cls_s, cls_t)
        torch.testing.assert_close(
            v, 4.0 * binary_kl(cls_s / 2, cls_t.detach() / 2).sum() / n)
        assert v > 0 and soft(cls_t, cls_t) < 1e-6
        r = reg(box_s, box_t, cls_t, obj_t)
        assert torch.isfinite(r) and r > 0 and reg(box_t, box_t, cls_t, obj_t) < 1e-6
        f_s = torch.randn(n, 8, h, w, requires_grad=True)
        fl = feat(f_s, torch.randn(n, 8, h, w), cls_t, obj_t)
        (v + r + fl).backward()
        assert cls_s.grad.abs().sum() > 0 and f_s.grad.abs().sum() > 0
        assert cls_t.grad is None  # the teacher side carries no gradient


def test_gfl_box_error_is_the_kl_of_the_side_distributions():
    torch.manual_seed(0)
    s, t = torch.randn(2, 4 * 17, 5, 5), torch.randn(2, 4 * 17, 5, 5)
    b_s, b_t = box_values('GFLHead', s), box_values('GFLHead', t)
    assert b_s.shape == (2, 1, 4, 17, 5, 5)
    err = box_error('GFLHead', b_s, b_t)
    p = t.reshape(2, 4, 17, 5, 5).softmax(2)
    want = (p * (p.log() - s.reshape(2, 4, 17, 5, 5).log_softmax(2))).sum((1, 2))
    torch.testing.assert_close(err, want.unsqueeze(1))
    # a shift of every logit by a constant leaves the distribution, and the error, at 0
    assert box_error('GFLHead', box_values('GFLHead', t + 3.0), b_t).abs().max() < 1e-5
    with pytest.raises(ValueError, match='reg_max'):
        box_values('GFLHead', torch.randn(2, 6, 5, 5))


def test_confident_regression_weighs_retina_anchors_by_teacher_confidence():
    """Only the anchor the teacher is sure about (class logit 5) is distilled."""
    cls_t = torch.full((1, 9 * C, 2, 2), -9.0)
    cls_t[0, 4 * C + 1, 0, 0] = 5.0  # anchor 4, class 1, location (0, 0)
    box_t = torch.zeros(1, 9 * 4, 2, 2)
    box_s = box_t.clone()
    box_s[0, 4 * 4:5 * 4, 0, 0] = 1.0  # error 4 on the confident anchor
    box_s[0, 0:4, 1, 1] = 7.0  # an unconfident anchor: ignored
    loss = ConfidentRegressionLoss('RetinaHead', conf_thr=0.5)
    c = torch.sigmoid(torch.tensor(5.0))
    torch.testing.assert_close(loss(box_s, box_t, cls_t), c * 4.0 / torch.clamp(c, min=1))


def test_yolox_objectness_scales_the_confidence():
    cls_t = torch.full((1, C, 1, 2), 4.0)
    obj = torch.tensor([[[[4.0, -4.0]]]])
    conf = confidence_map('YOLOXHead', cls_t, 1, obj)
    torch.testing.assert_close(conf[0, 0, 0], torch.sigmoid(torch.tensor(4.0)) *
                               torch.sigmoid(torch.tensor([4.0, -4.0])))
    # a masked feature term with the objectness drops the location it rules out
    feat = ConfidenceMaskedFeatureLoss('YOLOXHead', conf_thr=0.5, bg_weight=0.0)
    f_t = torch.zeros(1, 4, 1, 2)
    f_s = torch.zeros(1, 4, 1, 2)
    f_s[..., 1] = 3.0  # differs only where the objectness is low
    assert feat(f_s, f_t, cls_t) > 0
    assert feat(f_s, f_t, cls_t, obj) == 0


def test_wrong_shapes_name_the_head():
    with pytest.raises(ValueError, match='RetinaHead class map'):
        confidence_map('RetinaHead', torch.randn(1, 10, 2, 2), 9)
    with pytest.raises(ValueError, match='RTMDetHead box map'):
        box_values('RTMDetHead', torch.randn(1, 8, 2, 2), 1)


def test_detector_without_the_loss_head_fails_naming_both():
    det = torch.nn.Module()
    det.bbox_head = build_head('RTMDetSepBNHead')
    assert detector_head_layouts(det) == {'RTMDetHead': 'RTMDetSepBNHead'}
    losses = {'loss_soft0': ConfidenceSoftLabelLoss('RTMDetHead'),
              'loss_feat': torch.nn.MSELoss()}  # a loss without a layout is not checked
    check_detector_heads(losses, dict(student=det, teacher=det))
    losses['loss_soft1'] = ConfidenceSoftLabelLoss('YOLOV3Head')
    with pytest.raises(ValueError) as e:
        check_detector_heads(losses, dict(student=det, teacher=det))
    msg = str(e.value)
    assert 'distill_losses.loss_soft1' in msg and "'YOLOV3Head'" in msg
    assert 'RTMDetSepBNHead' in msg and 'RetinaHead' in msg  # has / supported
    plain = torch.nn.Module()
    plain.head = torch.nn.Conv2d(1, 1, 1)
    with pytest.raises(ValueError, match='student has heads'):
        check_detector_heads({'x': ConfidenceSoftLabelLoss('RetinaHead')},
                             dict(student=plain))
