"""Issue 22's first parts: probe a model config (local or ``package::path``), pair the
student's levels with the teacher's and wire them as MMRazor distiller parts; the wiring
of the toy YOLOv3 pair equals the hand-written config's, and the codebases' own configs
(mmdet RetinaNet, mmpretrain ResNet, mmseg FCN) probe and pair."""
import os.path as osp

import pytest
from mmengine.config import Config

from conftest import CONFIGS
from kd_plugins.autowire import (AutowireError, Level, distiller_wiring, input_size_of,
                                 load_config, pair_levels, probe, task_of)

TOY_T = osp.join(CONFIGS, 'detectors', 'yolov3_mobilenetv2-w100_8xb8-12e_toy-det.py')
TOY_S = osp.join(CONFIGS, 'detectors', 'yolov3_mobilenetv2-w025_8xb8-12e_toy-det.py')
HAND = osp.join(CONFIGS, '_base_', 'distill', 'yolov3_mbv2_w100_to_w025_neck_toy-det.py')


@pytest.fixture(scope='module')
def toy_levels():
    return probe(load_config(TOY_S)), probe(load_config(TOY_T))


def test_toy_yolov3_levels_and_the_input_size_of_its_pipeline(toy_levels):
    student, teacher = toy_levels
    assert input_size_of(load_config(TOY_S)) == (160, 160)
    neck_t = [lv for lv in teacher if lv.part == 'neck']
    assert [lv.shape for lv in neck_t] == [(96, 5, 5), (96, 10, 10), (96, 20, 20)]
    assert [lv.index for lv in neck_t] == [0, 1, 2]
    back_s = [lv for lv in student if lv.part == 'backbone']
    # one level per stride, the last module at that size (a stage's end)
    assert [lv.size for lv in back_s] == [(80, 80), (40, 40), (20, 20), (10, 10), (5, 5)]
    assert back_s[3].source == 'backbone.layer5' and back_s[3].channels == 24


def test_the_wiring_of_the_toy_pair_is_the_hand_written_one(toy_levels):
    """Same recorders, same connector shapes, same loss mappings as
    configs/_base_/distill/yolov3_mbv2_w100_to_w025_neck_toy-det.py."""
    student, teacher = toy_levels
    wiring = distiller_wiring(pair_levels(student, teacher, 'neck'), 'neck')
    hand = Config.fromfile(HAND).model.distiller.to_dict()
    for key in ('student_recorders', 'teacher_recorders', 'connectors',
                'loss_forward_mappings'):
        assert wiring[key] == hand[key], key
    assert wiring['loss_names'] == list(hand['distill_losses'])


def test_backbone_pairs_get_a_connector_only_where_channels_differ(toy_levels):
    student, teacher = toy_levels
    pairs = pair_levels(student, teacher, 'backbone')
    assert [p.student.size for p in pairs] == [(80, 80), (40, 40), (20, 20), (10, 10),
                                              (5, 5)]
    assert pairs[0].connector['in_channel'] == 8 and \
        pairs[0].connector['out_channel'] == 16
    assert pairs[-1].connector is None  # 1280 on both sides
    wiring = distiller_wiring(pairs, 'bb')
    assert wiring['student_recorders']['backbone_layer5'] == dict(
        type='ModuleOutputs', source='backbone.layer5')
    assert 'bb4_s' not in wiring['connectors']
    assert 'data_idx' not in wiring['loss_forward_mappings']['loss_bb0']['preds_S']


def test_the_codebases_own_configs_probe_and_pair():
    """mmdet's RetinaNet R-101 -> R-50, mmpretrain's ResNet-50 -> ResNet-18, mmseg's FCN
    (package::path, read from the installed packages; no weights load) at 64 x 64."""
    t = load_config('mmdet::retinanet/retinanet_r101_fpn_1x_coco.py')
    s = load_config('mmdet::retinanet/retinanet_r50_fpn_1x_coco.py')
    assert task_of(t) == task_of(s) == 'detection'
    assert input_size_of(s) == (800, 1333)  # Resize scale (1333, 800) is (w, h)
    pairs = pair_levels(probe(s, (64, 64)), probe(t, (64, 64)), 'neck')
    assert len(pairs) == 5 and all(p.connector is None for p in pairs)
    t = load_config('mmpretrain::resnet/resnet50_8xb32_in1k.py')
    s = load_config('mmpretrain::resnet/resnet18_8xb32_in1k.py')
    assert task_of(s) == 'classification'
    pairs = pair_levels(probe(s, (64, 64)), probe(t, (64, 64)), 'backbone')
    stages = [p for p in pairs if p.student.source.startswith('backbone.layer')]
    assert [(p.student.channels, p.teacher.channels) for p in stages] == [
        (64, 256), (128, 512), (256, 1024), (512, 2048)]
    seg = probe(load_config('mmseg::fcn/fcn_r18-d8_4xb2-80k_cityscapes-512x1024.py'),
                (64, 64))
    assert task_of(load_config('mmseg::fcn/fcn_r18-d8_4xb2-80k_cityscapes-512x1024.py')) \
        == 'segmentation'
    stages = [lv for lv in seg if lv.part == 'backbone']
    assert stages[-1].source == 'backbone.layer4' and stages[-1].size == (8, 8)  # dilated
    # the backbone's own outputs (out_indices 0-3), what the decode heads read
    assert [(lv.source, lv.index, lv.channels) for lv in seg if lv.part == 'outputs'] \
        == [('backbone', i, c) for i, c in enumerate((64, 128, 256, 512))]


def test_bad_input_is_named(tmp_path):
    with pytest.raises(AutowireError, match="teacher: config file '.*nope.py' not found"):
        load_config(str(tmp_path / 'nope.py'), 'teacher')
    with pytest.raises(AutowireError, match="student: 'mmdet::nope/none.py' is no config"):
        load_config('mmdet::nope/none.py', 'student')
    bad = tmp_path / 'x.py'
    bad.write_text("default_scope = 'mmocr'\nmodel = dict(type='X')\n")
    with pytest.raises(AutowireError, match="student: default_scope 'mmocr'"):
        task_of(load_config(str(bad)), 'student')
    s = [Level('neck', 0, 'neck', (8, 7, 7))]
    t = [Level('neck', 0, 'neck', (16, 5, 5)), Level('neck', 1, 'neck', (16, 10, 10))]
    with pytest.raises(AutowireError, match=r'neck: no student level .*student 7x7; '
                       r'teacher 5x5, 10x10'):
        pair_levels(s, t, 'neck')
    with pytest.raises(AutowireError, match='backbone: the student has 0'):
        pair_levels(s, t, 'backbone')
    with pytest.raises(AutowireError, match="part: one of"):
        pair_levels(s, t, 'head')
