"""The detection KD algorithms on the toy pair: M2's no-ground-truth switch, the teacher
running without autograd, the teacher's RoI head on the student's RoIs (Faster R-CNN),
and the build-time errors of issue 3 (level counts, head type, temperature)."""
import copy
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.structures import InstanceData

from conftest import CONFIGS
from conftest import det_batch as batch
from kd_plugins.models.utils import DistillConfigError

PAIR = 'yolov3-mbv2-w100_yolov3-mbv2-w025_toy-det.py'
M1_CFG = osp.join(CONFIGS, 'attention_imitation', f'm1_{PAIR}')
M2_CFG = osp.join(CONFIGS, 'confidence_guided', f'm2_{PAIR}')
M4_CFG = osp.join(CONFIGS, 'info_map', f'm4_{PAIR}')
M2_RETINA_CFG = osp.join(CONFIGS, 'confidence_guided',
                         'm2_retinanet-mbv2-w100_retinanet-mbv2-w025_toy-det.py')
M2_RTMDET_CFG = osp.join(CONFIGS, 'confidence_guided',
                         'm2_rtmdet-mbv2-w100_rtmdet-mbv2-w025_toy-det.py')
M2_FRCNN_CFG = osp.join(CONFIGS, 'confidence_guided',
                        'm2_faster-rcnn-r101_faster-rcnn-r50_fpn_1x_coco.py')


def model_cfg(path):
    return copy.deepcopy(Config.fromfile(path).model)


def build(cfg):
    from mmengine.registry import init_default_scope
    from mmrazor.registry import MODELS
    init_default_scope('mmdet')
    torch.manual_seed(0)
    return MODELS.build(cfg)


def distill_losses(algo, data):
    losses = algo.loss(data['inputs'], data['data_samples'])
    return {k: v.detach() for k, v in losses.items() if k.startswith('distill.')}


def record(manager, name, data_idx):
    return manager.get_recorder(name).get_record_data(record_idx=0, data_idx=data_idx)


def teacher_tensors(algo):
    out = []
    for rec in algo.distiller.teacher_recorders.recorders.values():
        stack = list(rec.data_buffer)
        while stack:
            x = stack.pop()
            if torch.is_tensor(x):
                out.append(x)
            elif isinstance(x, (list, tuple)):
                stack.extend(x)
    return out


# terms: neck, soft labels, confident boxes per level (+ the cross-head two per level)
@pytest.mark.parametrize('path,terms', [(M2_CFG, 15), (M2_RETINA_CFG, 15), (M2_RTMDET_CFG, 9)],
                         ids=['YOLOv3', 'RetinaNet', 'RTMDet'])
def test_m2_without_gt_distill_losses_ignore_gt_boxes(path, terms):
    cfg = model_cfg(path)
    assert cfg['use_gt'] is False  # the toy M2 configs are the no-gt setting
    algo = build(cfg)
    seen = []
    for m in algo.distiller.distill_losses.values():
        if hasattr(m, 'set_gt'):
            orig = m.set_gt
            m.set_gt = lambda boxes, hw=None, orig=orig: (seen.append(boxes),
                                                           orig(boxes, hw))
    with_gt = distill_losses(algo, batch(algo, with_gt=True))
    no_gt = distill_losses(algo, batch(algo, with_gt=False))
    assert set(with_gt) == set(no_gt) and len(with_gt) == terms
    for k in with_gt:
        torch.testing.assert_close(with_gt[k], no_gt[k], rtol=0, atol=0)
    assert seen and all(b is None for b in seen)  # no loss ever got a box

    # the switch matters: with use_gt the masked feature losses change with the boxes
    algo.use_gt = True
    with_gt = distill_losses(algo, batch(algo, with_gt=True))
    no_gt2 = distill_losses(algo, batch(algo, with_gt=False))
    changed = [k for k in with_gt if not torch.equal(with_gt[k], no_gt2[k])]
    assert changed and all('loss_neck' in k for k in changed)


@pytest.mark.parametrize('path', [M1_CFG, M2_CFG, M4_CFG, M2_RETINA_CFG, M2_RTMDET_CFG],
                         ids=['M1', 'M2', 'M4', 'M2-RetinaNet', 'M2-RTMDet'])
def test_teacher_runs_without_autograd_and_losses_backprop(path):
    algo = build(model_cfg(path))
    algo.train()
    data = batch(algo)
    losses = algo.loss(data['inputs'], data['data_samples'])
    distill = {k: v for k, v in losses.items() if k.startswith('distill.')}
    assert distill and all(torch.isfinite(v) for v in distill.values())
    held = teacher_tensors(algo)
    assert held and all(not t.requires_grad and t.grad_fn is None for t in held)
    sum(distill.values()).backward()
    assert all(p.grad is None for p in algo.teacher.parameters())
    grads = [p.grad for p in algo.student.parameters() if p.grad is not None]
    assert grads and any(g.abs().sum() > 0 for g in grads)


def test_teacher_skips_its_loss_in_tensor_mode():
    algo = build(model_cfg(M1_CFG))
    called = []
    algo.teacher.bbox_head.loss_by_feat = lambda *a, **k: called.append(1)
    data = batch(algo)
    algo.loss(data['inputs'], data['data_samples'])
    assert not called  # no target assignment / loss for a frozen teacher
    algo.teacher_forward_mode = 'loss'  # MMRazor's way: the teacher's loss runs
    try:
        algo.loss(data['inputs'], data['data_samples'])
    except Exception:  # the patched loss returns nothing; only the call matters
        pass
    assert called


def test_faster_rcnn_teacher_roi_head_runs_on_student_rois():
    cfg = model_cfg(M2_FRCNN_CFG)
    algo = build(cfg)
    data = batch(algo, size=128)
    rois = []
    algo.teacher.roi_head.bbox_roi_extractor.register_forward_hook(
        lambda m, args, out: rois.append(args[1]))
    losses = algo.loss(data['inputs'], data['data_samples'])
    s_rois = record(algo.distiller.student_recorders, 'rois', 1)
    # the last teacher RoI pass is on exactly the student's sampled RoIs
    torch.testing.assert_close(rois[-1], s_rois)
    t_cls = record(algo.distiller.teacher_recorders, 'roi_out', 0)
    s_cls = record(algo.distiller.student_recorders, 'roi_out', 0)
    assert t_cls.shape == s_cls.shape and not t_cls.requires_grad
    names = {k for k in losses if k.startswith('distill.')}
    assert {'distill.loss_roi_soft', 'distill.loss_roi_reg', 'distill.loss_fpn4',
            'distill.loss_rpn_soft0', 'distill.loss_rpn_reg2'} <= names
    assert all(torch.isfinite(losses[k]) for k in names)


def test_level_count_mismatch_names_the_part():
    cfg = model_cfg(M4_CFG)
    cfg['architecture']['backbone']['out_indices'] = (4, 6)
    with pytest.raises(DistillConfigError, match=r'backbone: level count.*2 levels.*3'):
        build(cfg)


def test_unknown_head_type_fails_at_build():
    cfg = model_cfg(M2_CFG)
    cfg['distiller']['distill_losses']['loss_soft1']['head_type'] = 'FCOSHead'
    with pytest.raises(ValueError, match="head_type: unknown head type 'FCOSHead'"):
        build(cfg)


@pytest.mark.parametrize('path,loss', [(M1_CFG, 'loss_neck0'), (M2_CFG, 'loss_soft2'),
                                       (M4_CFG, 'loss_backbone1')])
def test_non_positive_temperature_fails_at_build(path, loss):
    cfg = model_cfg(path)
    cfg['distiller']['distill_losses'][loss]['temperature'] = 0
    with pytest.raises(ValueError, match='temperature must be a number > 0'):
        build(cfg)


def test_teacher_roi_needs_known_recorders():
    cfg = model_cfg(M2_FRCNN_CFG)
    cfg['teacher_roi']['teacher_outputs'] = 'roi_outs'
    with pytest.raises(DistillConfigError, match=r'teacher_roi.teacher_outputs'):
        build(cfg)


def test_real_yolov3_pair_teacher_sees_its_own_normalisation():
    """YOLOv3-D53 (mean 0 / std 255) -> YOLOv3-MobileNetV2 (ImageNet mean / std): in the
    real M2 config each model gets the inputs normalised as it was trained."""
    from mmdet.structures import DetDataSample
    algo = build(model_cfg(osp.join(CONFIGS, 'confidence_guided',
                                    'm2_yolov3-d53_yolov3-mbv2_coco.py')))
    assert algo.teacher_own_preprocess
    g = torch.Generator().manual_seed(0)
    raw = [torch.randint(0, 256, (3, 96, 96), dtype=torch.uint8, generator=g)
           for _ in range(2)]
    samples = []
    for _ in raw:
        s = DetDataSample(metainfo=dict(img_shape=(96, 96), ori_shape=(96, 96),
                                        scale_factor=(1., 1.)))
        s.gt_instances = InstanceData(bboxes=torch.tensor([[8., 8., 60., 50.]]),
                                      labels=torch.tensor([0]))
        samples.append(s)
    seen = {}
    for side in ('teacher', 'student'):
        getattr(algo, side).backbone.register_forward_pre_hook(
            lambda m, args, side=side: seen.setdefault(side, args[0].detach().clone()))
    data = algo.data_preprocessor(dict(inputs=raw, data_samples=samples), True)
    algo.loss(data['inputs'], data['data_samples'])
    rgb = torch.stack(raw).float().flip(1)  # both convert BGR -> RGB
    mean = torch.tensor([123.675, 116.28, 103.53]).view(1, 3, 1, 1)
    std = torch.tensor([58.395, 57.12, 57.375]).view(1, 3, 1, 1)
    torch.testing.assert_close(seen['teacher'][..., :96, :96], rgb / 255.0)
    torch.testing.assert_close(seen['student'][..., :96, :96], (rgb - mean) / std)
