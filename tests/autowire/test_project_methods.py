"""kd_plugins' own methods in the config writer (kd_plugins/autowire/project_methods.py)
and the loss-weight rule measured on the user's data (balance.py): the written M1 / M2
/ M4 / M5 / M6 / M8 configs wire what the hand-written ones wire (recorders, connector
shapes, losses, mappings) and train; the codebases' own RetinaNet / FCN / ResNet
configs, shrunk to the toy data with options only, get them and train too; a head
without an adapter is named."""
import math
import os.path as osp
import re
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope

from conftest import (CONFIGS, ROOT, cli_options, cls_data_options, det_data_options,
                      seg_data_options, subprocess_env)
from kd_plugins.datasets.toy import (cityscapes_config_options, coco_config_options,
                                     imagenet_config_options)
from kd_plugins.autowire import AutowireError, build_model, load_config
from kd_plugins.autowire.balance import Term, balanced_weights, group_pulls
from kd_plugins.autowire.writer import write_config

DET = osp.join(CONFIGS, 'detectors')
YOLO_T = osp.join(DET, 'yolov3_mobilenetv2-w100_8xb8-12e_toy-det.py')
YOLO_S = osp.join(DET, 'yolov3_mobilenetv2-w025_8xb8-12e_toy-det.py')
RETINA_T = osp.join(DET, 'retinanet_mobilenetv2-w100_fpn_8xb8-12e_toy-det.py')
RETINA_S = osp.join(DET, 'retinanet_mobilenetv2-w025_fpn_8xb8-12e_toy-det.py')
CLS_T = osp.join(CONFIGS, 'classifiers', 'wrn-16-2_toy-cls.py')
CLS_S = osp.join(CONFIGS, 'classifiers', 'resnet8_toy-cls.py')
SEG = osp.join(CONFIGS, 'segmentors')


def save_weights(cfg_path, path):
    torch.save(dict(state_dict=build_model(load_config(cfg_path)).state_dict()), path)
    return str(path)


def train_two(cfg, opts, work):
    """tools/train.py for 2 iterations; the log."""
    res = subprocess.run(
        [sys.executable, 'tools/train.py', str(cfg), '--work-dir', str(work),
         '--max-iters', '2', *cli_options(dict(opts, **{
             'default_hooks.logger.interval': 1}))],
        cwd=ROOT, env=subprocess_env(), capture_output=True, text=True, timeout=600)
    log = res.stdout + res.stderr
    assert res.returncode == 0, log[-3000:]
    return log


def distill_values(log):
    return {k: float(v) for k, v in re.findall(r'distill\.(loss_\w+): ([0-9.eE+-]+)',
                                               log)}


def measured(text):
    """The weights the header says were measured: {term: weight}."""
    return {m[0]: float(m[1]) for m in re.findall(
        r'#   (\w+): [0-9.e+-]+x the \w+ task gradient at weight [0-9.e+-]+ -> '
        r'([0-9.e+-]+)', text)}


def test_the_weight_rule_by_hand():
    """0.7x of a side's task gradient in equal shares; a term without gradient keeps its
    start; the teacher side on its own."""
    terms = dict(a=Term(['model.x'], r'distill\.loss_a\d', 2.0),
                 b=Term(['model.y'], r'distill\.loss_b', 1.0),
                 c=Term(['model.z'], r'distill\.loss_c', 1.0, side='teacher'))
    pulls = dict(student={'task': 4.0, 'distill.loss_a0': 1.0, 'distill.loss_a1': 1.0,
                          'distill.loss_b': 0.0},
                 teacher={'task': 2.0, 'distill.loss_c': 4.0})
    weights, notes = balanced_weights(terms, pulls)
    # a: (1 + 1) / 4 = 0.5x at weight 2; share 0.7 / 2 = 0.35 -> 2 * 0.35 / 0.5
    assert weights == dict(a=pytest.approx(1.4), b=1.0, c=pytest.approx(0.35))
    assert 'b: no gradient on these batches; start weight 1 kept' in notes
    assert any(n.startswith('c: 2x the teacher task gradient') for n in notes)
    assert group_pulls(pulls['student']) == dict(loss_a=2.0, loss_b=0.0)


@pytest.fixture(scope='module')
def yolo_ckpt(tmp_path_factory):
    return save_weights(YOLO_T, tmp_path_factory.mktemp('yolo') / 't.pth')


def test_m4_wires_the_hand_written_connectors_with_measured_weights(yolo_ckpt, tmp_path,
                                                                     toy_det_root):
    out = tmp_path / 'm4.py'
    text = write_config('M4', YOLO_S, YOLO_T, yolo_ckpt, out=str(out),
                        options=det_data_options(toy_det_root))
    mine = Config.fromfile(str(out))
    hand = Config.fromfile(osp.join(
        CONFIGS, 'info_map', 'm4_yolov3-mbv2-w100_yolov3-mbv2-w025_toy-det.py'))

    def shapes(distiller):
        return sorted((c.type, c.in_channel, c.out_channel)
                      for c in distiller.connectors.values())
    assert shapes(mine.model.distiller) == shapes(hand.model.distiller)  # 8/24/80, 24
    assert sorted(v.type for v in mine.model.distiller.distill_losses.values()) == \
        sorted(v.type for v in hand.model.distiller.distill_losses.values())
    weights = measured(text)
    assert set(weights) == {'neck', 'backbone'}
    assert all(math.isfinite(w) and w > 0 for w in weights.values())
    for i in range(3):
        assert mine.model.distiller.distill_losses[f'loss_neck{i}'].loss_weight == \
            weights['neck']
    assert len(mine.sweep_weights) == 6
    assert 'measured on 2 batches of the student\'s train_dataloader' in text


@pytest.mark.slow
def test_m1_wires_the_hand_written_head_terms_and_trains(yolo_ckpt, tmp_path,
                                                         toy_det_root):
    out = tmp_path / 'm1.py'
    write_config('M1', YOLO_S, YOLO_T, yolo_ckpt, out=str(out),
                 options=det_data_options(toy_det_root))
    mine = Config.fromfile(str(out)).model.distiller
    hand = Config.fromfile(osp.join(
        CONFIGS, 'attention_imitation',
        'm1_yolov3-mbv2-w100_yolov3-mbv2-w025_toy-det.py')).model.distiller
    for key in ('student_recorders', 'teacher_recorders', 'connectors',
                'loss_forward_mappings'):
        assert mine[key].to_dict() == hand[key].to_dict(), key
    assert {k: v.type for k, v in mine.distill_losses.items()} == \
        {k: v.type for k, v in hand.distill_losses.items()}
    values = distill_values(train_two(out, det_data_options(toy_det_root),
                                      tmp_path / 'work'))
    assert {f'loss_{k}{i}' for k in ('neck', 'cls', 'reg', 'xcls', 'xreg')
            for i in range(3)} <= set(values)
    assert all(math.isfinite(v) for v in values.values())


def test_m2_on_the_toy_retinanet_reads_the_shared_head_convs_like_the_hand_written(
        tmp_path, toy_det_root):
    ckpt = save_weights(RETINA_T, tmp_path / 't.pth')
    out = tmp_path / 'm2.py'
    write_config('M2', RETINA_S, RETINA_T, ckpt, out=str(out),
                 options=det_data_options(toy_det_root))
    mine = Config.fromfile(str(out)).model
    hand = Config.fromfile(osp.join(
        CONFIGS, 'confidence_guided',
        'm2_retinanet-mbv2-w100_retinanet-mbv2-w025_toy-det.py')).model
    assert mine.type == hand.type == 'ConfidenceGuidedDistill' and not mine.use_gt
    for key in ('student_recorders', 'teacher_recorders', 'connectors',
                'loss_forward_mappings'):
        assert mine.distiller[key].to_dict() == hand.distiller[key].to_dict(), key
    assert {k: v.type for k, v in mine.distiller.distill_losses.items()} == \
        {k: v.type for k, v in hand.distiller.distill_losses.items()}


@pytest.mark.slow
def test_m5_selects_active_channels_like_the_algorithm_and_trains(tmp_path,
                                                                  toy_cls_root):
    from mmrazor.registry import MODELS
    ckpt = save_weights(CLS_T, tmp_path / 't.pth')
    out = tmp_path / 'm5.py'
    opts = cls_data_options(toy_cls_root, batch_size=8)
    text = write_config('M5', CLS_S, CLS_T, ckpt, out=str(out), input_size=(32, 32),
                        options=opts)
    assert set(measured(text)) == {'ha', 'kd'}
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        hand = MODELS.build(Config.fromfile(osp.join(
            CONFIGS, 'hybrid_attention', 'm5_wrn-16-2_resnet8_toy-cls.py')).model)

    def selectors(distiller):
        return sorted((type(c).__name__, c.in_channel, c.num_selected)
                      for c in distiller.connectors.values())
    mine = Config.fromfile(str(out)).model.distiller
    assert sorted(('ActiveChannelSelector', c.in_channel, c.num_selected)
                  for c in mine.connectors.values()) == selectors(hand.distiller)
    assert sorted(v.type for v in mine.distill_losses.values()) == sorted(
        type(v).__name__ for v in hand.distiller.distill_losses.values())
    values = distill_values(train_two(out, opts, tmp_path / 'work'))
    assert {'loss_ha0', 'loss_ha1', 'loss_ha2', 'loss_kd'} <= set(values)


def test_m8_wires_guide_and_feedback_and_measures_both_sides(tmp_path,
                                                              toy_retrieval_root):
    t_cfg = osp.join(CONFIGS, 'metric_embedders', 'wrn-16-2-512d_toy-retrieval.py')
    s_cfg = osp.join(CONFIGS, 'metric_embedders', 'resnet8x0.5-128d_toy-retrieval.py')
    out = tmp_path / 'm8.py'
    opts = dict(cls_data_options(toy_retrieval_root, batch_size=8),
                **{'train_dataloader.sampler.batch_size': 8})
    text = write_config('M8', s_cfg, t_cfg, save_weights(t_cfg, tmp_path / 't.pth'),
                        out=str(out), input_size=(32, 32), options=opts)
    assert re.search(r'#   guide: [0-9.e+-]+x the student task gradient', text)
    assert re.search(r'#   feedback: [0-9.e+-]+x the teacher task gradient', text)
    mine = Config.fromfile(str(out))
    hand = Config.fromfile(osp.join(
        CONFIGS, 'mutual_metric', 'm8_wrn-16-2-512d_resnet8x0.5-128d_toy-retrieval.py'))
    for key in ('type', 'feedback_gate', 'feedback_warmup_iters'):
        assert mine.model[key] == hand.model[key], key
    for key in ('guide_loss', 'feedback_loss'):
        assert {k: v for k, v in mine.model[key].items() if k != 'loss_weight'} == \
            {k: v for k, v in hand.model[key].items() if k != 'loss_weight'}
    assert mine.optim_wrapper.paramwise_cfg.custom_keys.to_dict() == \
        hand.optim_wrapper.paramwise_cfg.custom_keys.to_dict()
    assert mine.sweep_weights == hand.sweep_weights


@pytest.mark.slow
def test_m6_takes_several_teachers_and_their_features_and_trains(tmp_path, toy_seg_root):
    teachers = [osp.join(SEG, 'unet-c32_toy-seg.py'),
                osp.join(SEG, 'deeplabv3-r18-d8_toy-seg.py')]
    ckpts = [save_weights(t, tmp_path / f't{i}.pth') for i, t in enumerate(teachers)]
    out = tmp_path / 'm6.py'
    opts = seg_data_options(toy_seg_root)
    text = write_config('M6', osp.join(SEG, 'unet-c12_toy-seg.py'), teachers, ckpts,
                        out=str(out), options=opts)
    assert set(measured(text)) == {'pixel', 'feature'}
    mine = Config.fromfile(str(out)).model
    hand = Config.fromfile(osp.join(
        CONFIGS, 'multi_teacher', 'm6_unet-c32_deeplabv3-r18_unet-c12_toy-seg.py')).model
    assert [t.feature for t in mine.teachers.values()] == \
        [t.feature for t in hand.teachers.values()]
    assert mine.student_feature == hand.student_feature
    assert [t.ckpt_path for t in mine.teachers.values()] == ckpts
    values = distill_values(train_two(out, opts, tmp_path / 'work'))
    assert {'loss_pixel', 'loss_feature'} <= set(values)


CODEBASE_PAIRS = {  # method: (student, teacher, the toy data, options for it)
    'M2': ('mmdet::retinanet/retinanet_r18_fpn_1x_coco.py',
           'mmdet::retinanet/retinanet_r50_fpn_1x_coco.py', 'toy_det_root',
           coco_config_options),
    'M6': ('mmseg::fcn/fcn_r18-d8_4xb2-80k_cityscapes-512x1024.py',
           'mmseg::fcn/fcn_r50-d8_4xb2-80k_cityscapes-512x1024.py', 'toy_seg_root',
           cityscapes_config_options),
    'M5': ('mmpretrain::resnet/resnet18_8xb32_in1k.py',
           'mmpretrain::resnet/resnet50_8xb32_in1k.py', 'toy_cls_root',
           imagenet_config_options)}


@pytest.mark.slow
@pytest.mark.parametrize('method', sorted(CODEBASE_PAIRS))
def test_the_codebases_own_configs_get_the_project_methods_and_train(method, tmp_path,
                                                                     request):
    """mmdet's RetinaNet R-50 -> R-18 (M2: the shared head convs, five levels), mmseg's
    FCN R-50 -> R-18 (M6: the feature conv_seg reads) and mmpretrain's ResNet-50 ->
    ResNet-18 (M5: active-channel selection where the teacher is wider), shrunk to the
    toy data with config options only (as tools/compare.py applies them): weights
    measured on the toy batches, and the written configs train."""
    from kd_plugins.benchmark.compare import materialize
    student, teacher, data, shrink = CODEBASE_PAIRS[method]
    opts = dict(shrink(request.getfixturevalue(data)), **{
        f'{loader}_dataloader.{k}': v for loader in ('train', 'val', 'test')
        for k, v in (('num_workers', 0), ('persistent_workers', False),
                     ('batch_size', 2))})
    paths = []
    for spec, name in ((student, 'student'), (teacher, 'teacher')):
        cfg = load_config(spec)
        cfg.merge_from_dict(opts)
        paths.append(materialize(cfg, str(tmp_path / f'{name}.py')))
    out = tmp_path / f'{method}.py'
    text = write_config(method, paths[0], paths[1],
                        save_weights(paths[1], tmp_path / 't.pth'), out=str(out))
    assert measured(text)
    cfg = Config.fromfile(str(out))
    if method == 'M2':
        assert cfg.model.distiller.student_recorders.cls.source == 'bbox_head.retina_cls'
        assert len([k for k in cfg.model.distiller.distill_losses
                    if k.startswith('loss_soft')]) == 5
    elif method == 'M6':
        assert cfg.model.student_feature == 'decode_head.conv_cat'  # concat_input
    else:
        assert sorted((c.in_channel, c.num_selected)
                      for c in cfg.model.distiller.connectors.values()) == [
            (256, 64), (512, 128), (1024, 256), (2048, 512)]
    values = distill_values(train_two(out, {}, tmp_path / 'work'))
    assert values and all(math.isfinite(v) for v in values.values())


def test_a_head_without_an_adapter_is_named(tmp_path):
    fcos = 'mmdet::fcos/fcos_r50-caffe_fpn_gn-head_1x_coco.py'
    with pytest.raises(AutowireError, match=r"student: its head \(FCOSHead\) has no "
                       r"adapter for head-output distillation; heads with one: "
                       r"\['RTMDetHead', 'RetinaHead', 'YOLOV3Head'\]"):
        write_config('M1', fcos, fcos, save_weights(fcos, tmp_path / 't.pth'),
                     input_size=(64, 64), measure=False)
