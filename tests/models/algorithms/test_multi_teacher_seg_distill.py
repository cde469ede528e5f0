"""M6: BoundaryAwareMultiTeacherDistill (several segmentation teachers -> one student)."""
import copy
import os.path as osp
import re
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config
from mmengine.structures import PixelData
from mmrazor.registry import MODELS
from mmseg.structures import SegDataSample

from conftest import CONFIGS, ROOT, cli_options, seg_data_options, subprocess_env
from kd_plugins.models.algorithms.multi_teacher_seg_distill import (
    normalized_feature_distance, seg_labels)
from kd_plugins.models.losses.multi_teacher_seg import multi_teacher_pixel_kd
from kd_plugins.models.utils.config_checks import DistillConfigError

pytestmark = pytest.mark.usefixtures('mmrazor_scope')

M6_CFG = osp.join(CONFIGS, 'multi_teacher',
                  'm6_unet-c32_deeplabv3-r18_unet-c12_toy-seg.py')
EQUAL_CFG = osp.join(CONFIGS, 'multi_teacher',
                     'equal-weight_unet-c32_deeplabv3-r18_unet-c12_toy-seg.py')
CWD_CFG = osp.join(CONFIGS, 'mmrazor_cwd', 'cwd_logits_unet-c32_unet-c12_toy-seg.py')


def m6_model(cfg=M6_CFG):
    return copy.deepcopy(Config.fromfile(cfg).model.to_dict())


def build(cfg=M6_CFG, **overrides):
    model = m6_model(cfg)
    model.update(overrides)
    torch.manual_seed(0)
    return MODELS.build(model)


def raw_batch(n=2, size=32):
    """A raw (uint8, BGR) batch with labels: left half class 1, a square of class 2."""
    g = torch.Generator().manual_seed(0)
    inputs = [torch.randint(0, 256, (3, size, size), generator=g, dtype=torch.uint8)
              for _ in range(n)]
    samples = []
    for _ in range(n):
        lab = torch.zeros(1, size, size, dtype=torch.long)
        lab[..., :size // 2] = 1
        lab[..., 4:12, 20:28] = 2
        s = SegDataSample(gt_sem_seg=PixelData(data=lab))
        s.set_metainfo(dict(img_shape=(size, size), ori_shape=(size, size),
                            pad_shape=(size, size)))
        samples.append(s)
    return dict(inputs=inputs, data_samples=samples)


def test_builds_both_teachers_frozen_with_adapters_from_probe():
    algo = build()
    assert list(algo.teachers) == ['unet', 'dlv3']
    # student decode-head feature: 16 channels; UNet-32 head: 32, DeepLabV3 bottleneck: 64
    assert algo.adapters['unet'].in_channels == 16
    assert algo.adapters['unet'].out_channels == 32
    assert algo.adapters['dlv3'].out_channels == 64
    assert not any(p.requires_grad for p in algo.teachers.parameters())
    algo.train()
    assert not algo.teachers.training and algo.student.training


def test_each_teacher_gets_its_own_normalisation():
    algo = build()
    data = algo.data_preprocessor(raw_batch(), True)
    x = data['inputs']
    raw_rgb = torch.stack(raw_batch()['inputs']).float().flip(1)
    # the UNet teacher was trained on pixels / 255, the DeepLabV3 one like the student
    # (the preprocessor pads the 32 px images to the config's 128 px crop)
    assert torch.allclose(algo.teacher_inputs('unet', x)[..., :32, :32], raw_rgb / 255,
                          atol=1e-5)
    assert algo.teacher_inputs('dlv3', x) is x
    algo.teacher_own_preprocess = False
    assert algo.teacher_inputs('unet', x) is x


def test_pixel_term_is_the_m6_loss_of_the_recorded_logits():
    algo = build()
    algo.train()
    data = algo.data_preprocessor(raw_batch(), True)
    losses = algo.loss(data['inputs'], data['data_samples'])
    assert set(losses) >= {'student.decode.loss_ce', 'distill.loss_pixel',
                           'distill.loss_feature'}
    s_logits = algo.student_recorders.get_recorder('logits').get_record_data()
    with torch.no_grad():
        t_logits, _ = algo.run_teachers(data['inputs'])
    labels = seg_labels(data['data_samples'])
    want = multi_teacher_pixel_kd(s_logits, t_logits, labels, tau=1.0, band_width=3,
                                  boundary_weight=2.0, quality='auto',
                                  weight_temperature=0.1)
    weight = algo.distill_loss.loss_weight
    assert weight > 0
    assert losses['distill.loss_pixel'].item() == pytest.approx(weight * want.item(),
                                                                rel=1e-5)


def test_normalized_feature_distance_by_hand():
    t = torch.tensor([[[[1.0]], [[0.0]]]])  # one pixel, channel vector (1, 0)
    assert normalized_feature_distance(torch.tensor([[[[3.0]], [[0.0]]]]), t).item() == \
        pytest.approx(0.0)
    assert normalized_feature_distance(torch.tensor([[[[-2.0]], [[0.0]]]]), t).item() == \
        pytest.approx(4.0)
    assert normalized_feature_distance(torch.tensor([[[[0.0]], [[5.0]]]]), t).item() == \
        pytest.approx(2.0)
    # a student feature at another resolution is resized to the teacher's
    s = torch.ones(2, 2, 4, 4)
    assert normalized_feature_distance(s, torch.ones(2, 2, 2, 2)).shape == (2, )


def test_feature_term_is_the_docstring_formula():
    """The algorithm resizes the student feature before each 1x1 adapter and normalises
    by hand, for speed; the term must equal the plain formula: adapt at the student's
    size, resize to the teacher's, ``F.normalize``, weight per image."""
    import torch.nn.functional as F
    from kd_plugins.models.losses.multi_teacher_seg import pixel_kd_and_weights
    algo = build()
    algo.train()
    data = algo.data_preprocessor(raw_batch(), True)
    losses = algo.loss(data['inputs'], data['data_samples'])
    s_feat = algo.student_recorders.get_recorder('feature').get_record_data()
    s_logits = algo.student_recorders.get_recorder('logits').get_record_data()
    with torch.no_grad():
        t_logits, t_feats = algo.run_teachers(data['inputs'])
    _, w = pixel_kd_and_weights(s_logits, t_logits, seg_labels(data['data_samples']))
    sizes = {name: f.shape[-2:] for name, f in t_feats.items()}
    assert sizes['dlv3'] != s_feat.shape[-2:]  # the resize really happens
    want = 0.
    for k, name in enumerate(algo.teachers):
        adapted = F.interpolate(algo.adapters[name](s_feat), size=sizes[name],
                                mode='bilinear', align_corners=False)
        diff = F.normalize(adapted, dim=1) - F.normalize(t_feats[name], dim=1)
        want = want + (w[k] * diff.pow(2).sum(1).flatten(1).mean(1)).mean()
    got = losses['distill.loss_feature'].item()
    assert got > 0
    assert got == pytest.approx(algo.feature_loss_weight * want.item(), rel=1e-5)


def test_channel_normalize_matches_torch():
    import torch.nn.functional as F
    from kd_plugins.models.algorithms.multi_teacher_seg_distill import channel_normalize
    x = torch.randn(2, 5, 3, 4)
    x[0, :, 0, 0] = 0  # a zero vector stays zero
    assert torch.allclose(channel_normalize(x), F.normalize(x, dim=1), atol=1e-6)


def test_train_step_updates_student_and_adapters_not_teachers():
    from mmengine.optim import OptimWrapper
    algo = build()
    algo.train()
    opt = OptimWrapper(torch.optim.SGD(
        [p for p in algo.parameters() if p.requires_grad], lr=0.1))
    before = {k: v.clone() for k, v in algo.state_dict().items()}
    log = algo.train_step(raw_batch(), opt)
    assert log['distill.loss_pixel'] > 0 and log['distill.loss_feature'] > 0
    after = algo.state_dict()
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    assert any(k.startswith('architecture.backbone') for k in changed)
    assert any(k.startswith('adapters.unet') for k in changed)
    assert any(k.startswith('adapters.dlv3') for k in changed)
    assert not any(k.startswith('teachers.') for k in changed)


def test_equal_weight_baseline_has_no_feature_term_and_flat_weights():
    algo = build(EQUAL_CFG)
    assert not algo.adapters and algo.student_feature is None
    algo.train()
    data = algo.data_preprocessor(raw_batch(), True)
    losses = algo.loss(data['inputs'], data['data_samples'])
    assert 'distill.loss_feature' not in losses
    t_logits, _ = algo.run_teachers(data['inputs'])
    _, w = algo.distill_loss.forward_with_weights(t_logits[0], t_logits,
                                                  seg_labels(data['data_samples']))
    assert torch.allclose(w, torch.full((2, 2), 0.5))


def test_teacher_checkpoints_are_loaded(tmp_path):
    teacher = build().teachers['unet']
    with torch.no_grad():
        for p in teacher.parameters():
            p.add_(1.0)
    ckpt = str(tmp_path / 'unet.pth')
    torch.save(dict(state_dict=teacher.state_dict()), ckpt)
    model = m6_model()
    model['teachers']['unet']['ckpt_path'] = ckpt
    algo = MODELS.build(model)
    for k, v in teacher.state_dict().items():
        assert torch.equal(algo.teachers['unet'].state_dict()[k], v), k


@pytest.mark.parametrize('change, error, match', [
    (lambda m: m.update(teachers={}), DistillConfigError, 'teachers must be a non-empty'),
    (lambda m: m['teachers']['unet'].update(ckpt='x.pth'), DistillConfigError,
     r"teachers.unet has unknown keys \['ckpt'\]"),
    (lambda m: m['teachers']['dlv3'].update(ckpt_path='/nope/dlv3.pth'),
     FileNotFoundError, r'teachers.dlv3.ckpt_path'),
    (lambda m: m['teachers']['dlv3'].update(ckpt_path='https://x/y.pth'),
     DistillConfigError, r'teachers.dlv3.ckpt_path=.*is a URL'),
    (lambda m: m['teachers']['unet'].update(feature='decode_head.nope'),
     DistillConfigError, r"teachers.unet.feature='decode_head.nope' is not a module"),
    (lambda m: m.update(student_feature='backbone.nope'), DistillConfigError,
     r"student_feature='backbone.nope' is not a module of the student"),
    (lambda m: m.update(student_feature=None), DistillConfigError,
     'feature_loss_weight > 0 needs student_feature'),
    (lambda m: m['teachers']['dlv3']['model']['decode_head'].update(num_classes=5),
     DistillConfigError, 'num_classes'),
])
def test_bad_config_fails_at_build_naming_the_field(change, error, match):
    model = m6_model()
    change(model)
    with pytest.raises(error, match=match):
        MODELS.build(model)


@pytest.mark.parametrize('cfg', [M6_CFG, EQUAL_CFG, CWD_CFG],
                         ids=lambda p: osp.basename(p))
def test_toy_seg_distill_configs_train(cfg, toy_seg_root, tmp_path):
    work = str(tmp_path / 'work')
    opts = dict(seg_data_options(toy_seg_root), **{
        'train_cfg.max_iters': 2, 'train_cfg.val_interval': 2,
        'default_hooks.checkpoint.interval': 2, 'default_hooks.logger.interval': 1})
    proc = subprocess.run([sys.executable, 'tools/train.py', cfg, '--work-dir', work,
                           *cli_options(opts)], cwd=ROOT, env=subprocess_env(),
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert osp.isfile(osp.join(work, 'iter_2.pth'))
    log = proc.stdout + proc.stderr
    assert 'distill.loss_' in log and 'mIoU' in log and 'bF' in log
    if cfg != M6_CFG:
        return
    # the user's chain: export the student, evaluate it with mmseg's own `mim test`
    # (the exported config keeps custom_imports for the BoundaryFScore metric)
    export = str(tmp_path / 'export')
    proc = subprocess.run([sys.executable, 'tools/export_student.py',
                           osp.join(work, 'iter_2.pth'), '--config', cfg,
                           '--out', export],
                          cwd=ROOT, env=subprocess_env(), capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    student = Config.fromfile(osp.join(export, 'student.py'))
    assert student.model.type == 'EncoderDecoder'
    assert student.custom_imports.imports == ['kd_plugins']
    mim = osp.join(osp.dirname(sys.executable), 'mim')
    test_opts = {k: v for k, v in seg_data_options(toy_seg_root).items()
                 if k.startswith('test_')}
    proc = subprocess.run([mim, 'test', 'mmseg', osp.join(export, 'student.py'),
                           '--checkpoint', osp.join(export, 'student.pth'), '--work-dir',
                           str(tmp_path / 'mimtest'), *cli_options(test_opts)],
                          cwd=ROOT, env=subprocess_env(), capture_output=True, text=True,
                          timeout=600)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    assert re.search(r'mIoU: [0-9.]+', out) and re.search(r'bF: [0-9.]+', out)


def test_each_teacher_checkpoint_must_fit_its_teacher(tmp_path):
    """The DeepLabV3 teacher's checkpoint given to the UNet teacher fails at build,
    naming the teacher's field; teacher_strict=False is the explicit opt-in."""
    from kd_plugins.models.utils import TeacherCheckpointError
    ckpt = str(tmp_path / 'dlv3.pth')
    torch.save(dict(state_dict=build().teachers['dlv3'].state_dict()), ckpt)
    model = m6_model()
    model['teachers']['unet']['ckpt_path'] = ckpt
    with pytest.raises(TeacherCheckpointError,
                       match=r"teachers\.unet\.ckpt_path: checkpoint .*dlv3\.pth.*does "
                             r"not fit the teacher.*keys missing.*teacher_strict=False"):
        MODELS.build(model)
    model['teacher_strict'] = False
    assert MODELS.build(model).teachers['unet']._is_init
