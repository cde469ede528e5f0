"""PreprocessAwareDistill: the teacher's own preprocessing (breakage 9) and the
build-time checks of a distillation config."""
import copy

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import OptimWrapper
from mmengine.structures import InstanceData

from conftest import CWD_CFG, TEACHER_CFG
from kd_plugins.models.algorithms.preprocess_aware_distill import renormalize
from kd_plugins.models.utils import DistillConfigError

D53_PREPROCESSOR = dict(type='DetDataPreprocessor', mean=[0, 0, 0], std=[255., 255., 255.],
                        bgr_to_rgb=True, pad_size_divisor=32)


def algo_cfg():
    cfg = Config.fromfile(CWD_CFG)
    return copy.deepcopy(cfg.model.to_dict())


def build(model_cfg):
    from mmengine.registry import init_default_scope
    from mmrazor.registry import MODELS
    init_default_scope('mmdet')
    return MODELS.build(model_cfg)


def raw_batch(n=2, size=(150, 160), seed=0):
    from mmdet.structures import DetDataSample
    g = torch.Generator().manual_seed(seed)
    inputs, samples = [], []
    for _ in range(n):
        inputs.append(torch.randint(0, 256, (3, *size), dtype=torch.uint8, generator=g))
        s = DetDataSample(metainfo=dict(img_shape=size, ori_shape=size,
                                        scale_factor=(1., 1.)))
        s.gt_instances = InstanceData(bboxes=torch.tensor([[10., 10., 60., 70.]]),
                                      labels=torch.tensor([1]))
        samples.append(s)
    return dict(inputs=inputs, data_samples=samples)


def capture_teacher_inputs(algo):
    seen = []
    algo.teacher.backbone.register_forward_pre_hook(
        lambda m, args: seen.append(args[0].detach().clone()))
    return seen


@pytest.mark.parametrize('own', [True, False])
def test_mixed_pair_teacher_sees_its_own_normalisation(own):
    cfg = algo_cfg()
    teacher = Config.fromfile(TEACHER_CFG).model.to_dict()
    teacher['data_preprocessor'] = D53_PREPROCESSOR
    cfg['teacher'] = teacher
    cfg['teacher_own_preprocess'] = own
    algo = build(cfg)
    assert algo.teacher_own_preprocess is own
    seen = capture_teacher_inputs(algo)
    data = raw_batch()
    expected = algo.teacher.data_preprocessor(copy.deepcopy(data), False)['inputs']
    student_view = algo.student.data_preprocessor(copy.deepcopy(data), False)['inputs']
    optim = OptimWrapper(torch.optim.SGD(algo.student.parameters(), lr=0.0))
    losses = algo.train_step(data, optim)
    assert all(torch.isfinite(v).all() for v in losses.values())
    assert len(seen) == 1
    if own:
        torch.testing.assert_close(seen[0], expected)
        assert seen[0].max() <= 1.0  # mean 0 / std 255: pixels in [0, 1]
    else:  # MMRazor's behaviour: the student's ImageNet-normalised tensor
        torch.testing.assert_close(seen[0], student_view)
        assert not torch.allclose(seen[0], expected)


def test_same_preprocessing_adds_no_second_pass():
    algo = build(algo_cfg())
    assert algo.teacher_own_preprocess is False
    assert algo.data_preprocessor is algo.student.data_preprocessor


def test_renormalize_maps_student_to_teacher_normalisation():
    from mmdet.models.data_preprocessors import DetDataPreprocessor
    s_pp = DetDataPreprocessor(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375],
                               bgr_to_rgb=True)
    t_pp = DetDataPreprocessor(mean=[0, 0, 0], std=[255., 255., 255.], bgr_to_rgb=False)
    data = raw_batch(size=(64, 64))
    s = s_pp(copy.deepcopy(data), False)['inputs']
    t = t_pp(copy.deepcopy(data), False)['inputs']
    torch.testing.assert_close(renormalize(s, s_pp, t_pp), t, atol=1e-5, rtol=1e-5)


# ---- bad input: each fails at build time naming the field ---------------------------
def test_missing_teacher_checkpoint(tmp_path):
    cfg = algo_cfg()
    cfg['teacher_ckpt'] = str(tmp_path / 'missing_teacher.pth')
    with pytest.raises(FileNotFoundError, match=r'teacher_ckpt.*missing_teacher\.pth'):
        build(cfg)


def test_teacher_checkpoint_url_is_refused():
    cfg = algo_cfg()
    cfg['teacher_ckpt'] = 'https://example.org/teacher.pth'
    with pytest.raises(DistillConfigError, match='teacher_ckpt.*URL'):
        build(cfg)


def test_class_count_mismatch():
    cfg = algo_cfg()
    teacher = Config.fromfile(TEACHER_CFG).model.to_dict()
    teacher['bbox_head']['num_classes'] = 7
    cfg['teacher'] = teacher
    with pytest.raises(DistillConfigError,
                       match=r'bbox_head\.num_classes=5 but teacher bbox_head\.num_classes=7'):
        build(cfg)


def test_recorder_source_typo_lists_closest_names():
    cfg = algo_cfg()
    cfg['distiller']['student_recorders']['neck']['source'] = 'nek'
    with pytest.raises(DistillConfigError,
                       match=r"distiller\.student_recorders\.neck\.source='nek'.*'neck'"):
        build(cfg)


def test_channel_mismatch_without_connector():
    cfg = algo_cfg()
    for mapping in cfg['distiller']['loss_forward_mappings'].values():
        mapping['preds_S'].pop('connector')
    with pytest.raises(DistillConfigError,
                       match=r'loss_neck0: channel mismatch.*preds_S=24.*preds_T=96'):
        build(cfg)


def test_connector_with_wrong_input_channels():
    cfg = algo_cfg()
    cfg['distiller']['connectors']['neck1_s']['in_channel'] = 32
    with pytest.raises(DistillConfigError, match=r'connectors\.neck1_s: takes 32'):
        build(cfg)


@pytest.mark.parametrize('cfg', ['mmrazor_kd/kd_logits_wrn-16-2_resnet8_toy-cls.py',
                                 'hybrid_attention/m5_wrn-16-2_resnet8_toy-cls.py'])
def test_teacher_without_its_own_preprocessor_gets_the_configs_one(cfg):
    """A teacher dict with no data_preprocessor was trained alone with the config's
    top-level one (the Runner's rule): inside the algorithm it must normalise the same
    way, not fall back to the codebase default (raw pixels)."""
    import os.path as osp

    from mmengine.registry import DefaultScope
    from mmrazor.registry import MODELS

    from conftest import CONFIGS
    model = Config.fromfile(osp.join(CONFIGS, cfg)).model.to_dict()
    assert 'data_preprocessor' not in model['teacher']
    with DefaultScope.overwrite_default_scope('mmrazor'):
        algo = MODELS.build(model)
    t_pp = algo.teacher.data_preprocessor
    assert t_pp._enable_normalize
    assert torch.allclose(t_pp.mean.flatten(), torch.tensor([127.5] * 3))
    assert torch.allclose(t_pp.std.flatten(), torch.tensor([63.75] * 3))
    assert not algo.teacher_own_preprocess  # same normalisation: one pass
    raw = torch.randint(0, 256, (1, 3, 32, 32), dtype=torch.uint8)
    out = t_pp(dict(inputs=[raw[0]]), False)['inputs']
    assert torch.allclose(out, (raw[:, [2, 1, 0]].float() - 127.5) / 63.75)
