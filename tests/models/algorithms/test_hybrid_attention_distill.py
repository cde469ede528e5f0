"""M5 algorithm: stage wiring, channel selection, build-time errors, real training."""
import copy
import os.path as osp
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmpretrain.structures import DataSample
from mmrazor.registry import MODELS

from kd_plugins.models.utils.config_checks import DistillConfigError
from conftest import CONFIGS, ROOT, cli_options, cls_data_options, subprocess_env

M5_CFG = osp.join(CONFIGS, 'hybrid_attention', 'm5_wrn-16-2_resnet8_toy-cls.py')
TOY_CLS_CFGS = [
    M5_CFG,
    osp.join(CONFIGS, 'mmrazor_kd', 'kd_logits_wrn-16-2_resnet8_toy-cls.py'),
    osp.join(CONFIGS, 'mmrazor_at', 'at_stages_wrn-16-2_resnet8_toy-cls.py'),
    osp.join(CONFIGS, 'mmrazor_cwd', 'cwd_stage2_wrn-16-2_resnet8_toy-cls.py'),
]


def m5_model(**overrides):
    init_default_scope('mmpretrain')
    cfg = copy.deepcopy(Config.fromfile(M5_CFG).model)
    cfg.update(overrides)
    return cfg


def build(**overrides):
    torch.manual_seed(0)
    return MODELS.build(m5_model(**overrides))


def toy_batch(algo, n=4):
    g = torch.Generator().manual_seed(1)
    imgs = torch.randint(0, 256, (n, 3, 32, 32), generator=g).float()
    samples = [DataSample().set_gt_label(i % 10) for i in range(n)]
    return dict(inputs=list(imgs), data_samples=samples)


def test_narrower_student_gets_teacher_side_selectors():
    algo = build()
    assert algo.num_selected == (16, 32, 64)
    conns = algo.distiller.connectors
    assert sorted(conns.keys()) == ['ha_select_t0', 'ha_select_t1', 'ha_select_t2']
    assert [(conns[f'ha_select_t{i}'].in_channel, conns[f'ha_select_t{i}'].num_selected)
            for i in range(3)] == [(32, 16), (64, 32), (128, 64)]
    maps = algo.distiller.loss_forward_mappings
    assert maps['loss_ha2']['preds_T']['connector'] == 'ha_select_t2'
    assert 'connector' not in maps['loss_ha2']['preds_S']
    assert maps['loss_ha1']['preds_S']['data_idx'] == 1
    # the config's own logit KD term is kept next to the attention terms
    assert set(algo.distiller.distill_losses) == {'loss_kd', 'loss_ha0', 'loss_ha1',
                                                  'loss_ha2'}


def test_equal_widths_need_no_selector():
    cfg = m5_model()
    student = copy.deepcopy(cfg.teacher)
    algo = MODELS.build(dict(cfg, architecture=student))
    assert algo.num_selected == (32, 64, 128)
    assert len(algo.distiller.connectors) == 0


def test_smaller_num_selected_selects_on_both_sides():
    algo = build(num_selected=8, stages=(1, ))
    conns = algo.distiller.connectors
    assert (conns['ha_select_t1'].in_channel, conns['ha_select_t1'].num_selected) == \
        (64, 8)
    assert (conns['ha_select_s1'].in_channel, conns['ha_select_s1'].num_selected) == \
        (32, 8)


def test_train_step_updates_student_and_teacher_activity_only():
    algo = build()
    teacher_before = {k: v.clone() for k, v in algo.teacher.state_dict().items()
                      if 'running' not in k and 'num_batches' not in k}
    student_before = {k: v.clone() for k, v in algo.student.named_parameters()}
    from mmengine.optim import OptimWrapper
    optim = OptimWrapper(torch.optim.SGD(algo.student.parameters(), lr=0.1))
    algo.train()
    logs = algo.train_step(toy_batch(algo), optim)
    for i in range(3):
        assert f'distill.loss_ha{i}' in logs and torch.isfinite(logs[f'distill.loss_ha{i}'])
        assert logs[f'distill.loss_ha{i}'] > 0
    assert any(not torch.equal(v, dict(algo.student.named_parameters())[k])
               for k, v in student_before.items())
    for k, v in algo.teacher.state_dict().items():
        if k in teacher_before:
            assert torch.equal(v, teacher_before[k]), k
    sel = algo.distiller.connectors['ha_select_t2']
    assert int(sel.num_updates) == 1 and sel.running_activity.abs().sum() > 0
    # the selected channels are the teacher's most active ones at that stage
    top = torch.topk(sel.running_activity, 64).indices.sort().values
    assert torch.equal(sel.selected_indices(), top)


def test_adapter_ablation_maps_the_student_to_every_teacher_channel():
    """``channel_match='adapter'`` (the `M5-adapter` row): a learned 1x1 conv from the
    student's width to the teacher's at each stage, no selector, and the adapter is
    trained by the attention terms."""
    algo = build(channel_match='adapter')
    conns = algo.distiller.connectors
    assert sorted(conns.keys()) == ['ha_adapt_s0', 'ha_adapt_s1', 'ha_adapt_s2']
    convs = [conns[f'ha_adapt_s{i}'].conv_module.conv for i in range(3)]
    assert [(c.in_channels, c.out_channels, c.kernel_size) for c in convs] == \
        [(16, 32, (1, 1)), (32, 64, (1, 1)), (64, 128, (1, 1))]
    assert algo.num_selected == (32, 64, 128) and algo.channel_match == 'adapter'
    maps = algo.distiller.loss_forward_mappings
    assert maps['loss_ha1']['preds_S']['connector'] == 'ha_adapt_s1'
    assert 'connector' not in maps['loss_ha1']['preds_T']
    from mmengine.optim import OptimWrapper
    params = list(algo.student.parameters()) + list(conns.parameters())
    before = [p.clone() for p in conns.parameters()]
    algo.train()
    logs = algo.train_step(toy_batch(algo), OptimWrapper(torch.optim.SGD(params, lr=0.1)))
    assert all(logs[f'distill.loss_ha{i}'] > 0 for i in range(3))
    assert any(not torch.equal(b, p) for b, p in zip(before, conns.parameters()))


@pytest.mark.parametrize('overrides, match', [
    (dict(num_selected=65, stages=(2, )), "exceeds the student's 64 channels at stage 2"),
    (dict(num_selected=200, stages=(2, )), "exceeds the teacher's 128 channels at stage 2"),
    (dict(stages=(3, )), r'stage\(s\) \[3\] are not among the student backbone'),
    (dict(stages=(0, 1), teacher_stages=(0, )), 'same length'),
    (dict(stages=(0, ), teacher_stages=(1, )), 'spatial attention needs equal sizes'),
    (dict(stages=()), 'non-empty sequence of stage indices'),
    (dict(stages=(1, 1)), 'repeats a stage'),
    (dict(num_selected=(8, 8)), 'one per stage'),
    (dict(channel_match='learned'), "channel_match must be one of"),
    (dict(channel_match='adapter', num_selected=16), 'set num_selected=None'),
    (dict(channel_match='adapter', stages=(0, ), teacher_stages=(1, )),
     'spatial attention needs equal sizes'),
])
def test_bad_config_fails_at_build(overrides, match):
    with pytest.raises(DistillConfigError, match=match):
        build(**overrides)


def test_stage_missing_from_out_indices_is_named():
    cfg = m5_model()
    cfg.architecture.backbone.out_indices = (2, )
    with pytest.raises(DistillConfigError, match=r'backbone.out_indices=\(2,\)'):
        MODELS.build(dict(cfg, stages=(0, 2)))


def test_num_selected_above_teacher_width_names_field():
    """The issue's case: more channels than the teacher has, student as wide."""
    cfg = m5_model()
    wide = copy.deepcopy(cfg.teacher)
    with pytest.raises(DistillConfigError, match=r'num_selected \(stage 0, entry 0\)=40'):
        MODELS.build(dict(cfg, architecture=wide, num_selected=(40, 64, 128)))


@pytest.mark.slow
@pytest.mark.parametrize('cfg', TOY_CLS_CFGS, ids=lambda p: osp.basename(p)[:-3])
def test_toy_cls_distill_configs_train(cfg, toy_cls_root, tmp_path):
    """Each toy classification distillation config trains real iterations."""
    init_default_scope('mmpretrain')
    teacher = MODELS.build(Config.fromfile(cfg).model.teacher)
    ckpt = str(tmp_path / 'teacher.pth')
    torch.save({'state_dict': teacher.state_dict()}, ckpt)
    work = str(tmp_path / 'work')
    res = subprocess.run(
        [sys.executable, 'tools/train.py', cfg, '--work-dir', work, '--teacher-ckpt',
         ckpt, '--max-iters', '2', *cli_options(cls_data_options(toy_cls_root)),
         'default_hooks.logger.interval=1'],
        cwd=ROOT, env=subprocess_env(), capture_output=True, text=True, timeout=600)
    out = res.stdout + res.stderr
    assert res.returncode == 0, out[-3000:]
    assert 'distill.loss' in out and 'accuracy/top1' in out
    assert osp.isfile(osp.join(work, 'iter_2.pth'))
    if cfg != M5_CFG:
        return
    # the student leaves as a plain mmpretrain classifier and evaluates on its own
    export = str(tmp_path / 'export')
    res = subprocess.run(
        [sys.executable, 'tools/export_student.py', osp.join(work, 'iter_2.pth'),
         '--config', cfg, '--out', export], cwd=ROOT, env=subprocess_env(),
        capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, (res.stdout + res.stderr)[-3000:]
    res = subprocess.run(
        [sys.executable, 'tools/test.py', osp.join(export, 'student.py'),
         osp.join(export, 'student.pth'), '--work-dir', str(tmp_path / 'test'),
         *cli_options(cls_data_options(toy_cls_root))],
        cwd=ROOT, env=subprocess_env(), capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, (res.stdout + res.stderr)[-3000:]
    assert 'accuracy/top1' in res.stdout + res.stderr
