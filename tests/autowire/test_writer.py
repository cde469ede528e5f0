"""tools/make_distill_config.py and kd_plugins.autowire.writer: the config written for
the toy YOLOv3 pair equals the hand-written MMRazor CWD config (recorders, connectors,
losses, mappings), an MGD one trains; a codebase's own configs (mmpretrain ResNet) get
an AT config; the toy embedders an RKD config that wires the hand-written terms and
trains; bad input fails before writing, naming the argument."""
import os.path as osp
import re
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config

from conftest import (CONFIGS, ROOT, cli_options, cls_data_options, det_data_options,
                      subprocess_env)
from kd_plugins.autowire import AutowireError, build_model, load_config
from kd_plugins.autowire.writer import write_config

TOY_T = osp.join(CONFIGS, 'detectors', 'yolov3_mobilenetv2-w100_8xb8-12e_toy-det.py')
TOY_S = osp.join(CONFIGS, 'detectors', 'yolov3_mobilenetv2-w025_8xb8-12e_toy-det.py')
HAND_CWD = osp.join(CONFIGS, 'mmrazor_cwd',
                    'cwd_neck_yolov3-mbv2-w100_yolov3-mbv2-w025_toy-det.py')
TOY_CLS = osp.join(CONFIGS, 'classifiers', 'wrn-16-2_toy-cls.py')


def save_weights(cfg_path, path):
    torch.save(dict(state_dict=build_model(load_config(cfg_path)).state_dict()), path)
    return str(path)


@pytest.fixture(scope='module')
def teacher_ckpt(tmp_path_factory):
    return save_weights(TOY_T, tmp_path_factory.mktemp('ckpt') / 'teacher.pth')


def test_the_written_cwd_config_is_the_hand_written_one(teacher_ckpt, tmp_path):
    out = tmp_path / 'my_cwd.py'
    text = write_config('cwd', TOY_S, TOY_T, teacher_ckpt, out=str(out))
    assert out.read_text() == text
    assert '#   0: neck[0] 24x5x5 <- neck[0] 96x5x5 (ConvModuleConnector 24 -> 96)' in text
    mine, hand = Config.fromfile(str(out)), Config.fromfile(HAND_CWD)
    for key in ('student_recorders', 'teacher_recorders', 'connectors', 'distill_losses',
                'loss_forward_mappings'):
        assert mine.model.distiller[key].to_dict() == hand.model.distiller[key].to_dict()
    assert mine.model.architecture == hand.model.architecture
    assert mine.sweep_weights == hand.sweep_weights
    assert mine.model.teacher_ckpt == teacher_ckpt


@pytest.mark.slow
def test_the_written_config_trains(teacher_ckpt, tmp_path, toy_det_root):
    out = tmp_path / 'cfgs' / 'my_mgd.py'
    out.parent.mkdir()
    res = subprocess.run(
        [sys.executable, 'tools/make_distill_config.py', '--method', 'mgd', '--student',
         TOY_S, '--teacher', TOY_T, '--teacher-ckpt', teacher_ckpt, '--out', str(out)],
        cwd=ROOT, env=subprocess_env(), capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    assert 'MGDConnector 24 -> 96' in res.stdout and f'wrote {out}' in res.stdout
    work = str(tmp_path / 'work')
    res = subprocess.run(
        [sys.executable, 'tools/train.py', str(out), '--work-dir', work, '--max-iters',
         '2'] + cli_options(det_data_options(toy_det_root, batch_size=4))
        + ['default_hooks.logger.interval=1'],
        cwd=ROOT, env=subprocess_env(), capture_output=True, text=True, timeout=600)
    log = res.stdout + res.stderr
    assert res.returncode == 0, log[-3000:]
    vals = re.findall(r'distill\.loss_neck(\d): ([0-9.eE+-]+|nan|inf)', log)
    assert {v[0] for v in vals} == {'0', '1', '2'}, log[-3000:]
    assert all(0 <= float(v[1]) < 1e6 for v in vals) and any(float(v[1]) > 0 for v in vals)


def test_a_codebase_classifier_pair_gets_attention_transfer(tmp_path):
    """mmpretrain's own ResNet-50 -> ResNet-18 configs (package::path): AT on the four
    stages and the stem's stride, no connector."""
    ckpt = save_weights('mmpretrain::resnet/resnet50_8xb32_in1k.py', tmp_path / 't.pth')
    text = write_config('at', 'mmpretrain::resnet/resnet18_8xb32_in1k.py',
                        'mmpretrain::resnet/resnet50_8xb32_in1k.py', ckpt,
                        out=str(tmp_path / 'at.py'), input_size=(64, 64))
    cfg = Config.fromfile(str(tmp_path / 'at.py'))
    assert cfg.model.distiller.connectors == {}
    sources = [r['source'] for r in cfg.model.distiller.student_recorders.values()]
    assert sources[-4:] == ['backbone.layer1', 'backbone.layer2', 'backbone.layer3',
                            'backbone.layer4']
    assert "_base_ = ['mmpretrain::resnet/resnet18_8xb32_in1k.py']" in text
    assert {v['type'] for v in cfg.model.distiller.distill_losses.values()} == {'ATLoss'}


def test_bad_input_fails_before_writing_naming_the_argument(teacher_ckpt, tmp_path):
    out = tmp_path / 'x.py'
    cases = [
        (('dkd_x', TOY_S, TOY_T, teacher_ckpt), r"method: 'dkd_x' is not one"),
        (('cwd', TOY_S, TOY_CLS, teacher_ckpt),
         'the student is a detection model and the teacher a classification one'),
        (('at', TOY_S, TOY_T, teacher_ckpt), r"method: at serves .* not detection; "
         r"for detection: \['M1', 'M2', 'M4', 'cwd', 'mgd', 'pkd'\]"),
        (('M3', TOY_S, TOY_T, teacher_ckpt), 'method: the writer does not write M3: '
         '.*configs/semi_adaptive'),
        (('M4', TOY_S, [TOY_T, TOY_T], [teacher_ckpt] * 2),
         'teacher: M4 distils from one teacher, got 2 \\(several teachers: M6\\)'),
        (('M6', TOY_S, [TOY_T, TOY_T], [teacher_ckpt]),
         'teacher-ckpt: 1 checkpoint\\(s\\) for 2 teacher\\(s\\)'),
        (('cwd', TOY_S, TOY_T, str(tmp_path / 'none.pth')), 'teacher-ckpt: checkpoint '
         'file .* not found'),
        (('cwd', TOY_S, osp.join(tmp_path, 'nope.py'), teacher_ckpt),
         "teacher: config file '.*nope.py' not found"),
    ]
    for args, match in cases:
        with pytest.raises(AutowireError, match=match):
            write_config(*args, out=str(out))
    student_weights = save_weights(TOY_S, tmp_path / 's.pth')
    with pytest.raises(AutowireError, match=r'teacher-ckpt: .*s\.pth does not fit the '
                       r'teacher config: .* of another shape'):
        write_config('cwd', TOY_S, TOY_T, student_weights, out=str(out))
    assert not out.exists()
    res = subprocess.run([sys.executable, 'tools/make_distill_config.py', '--method',
                          'nope', '--student', TOY_S, '--teacher', TOY_T,
                          '--teacher-ckpt', teacher_ckpt, '--out', str(out)], cwd=ROOT,
                         env=subprocess_env(), capture_output=True, text=True,
                         timeout=300)
    assert res.returncode == 1 and "error: method: 'nope' is not one" in res.stderr
    assert not out.exists()


def test_the_written_rkd_config_wires_the_hand_written_terms(tmp_path,
                                                              toy_retrieval_root):
    """The toy retrieval pair (kd_plugins' EmbeddingHead): RKD's two terms on the
    embedding layers, as configs/mmrazor_rkd/ wires them (recorders of head.fc, no
    connector, distance 1 and angle 2)."""
    t_cfg = osp.join(CONFIGS, 'metric_embedders', 'wrn-16-2-512d_toy-retrieval.py')
    s_cfg = osp.join(CONFIGS, 'metric_embedders', 'resnet8x0.5-128d_toy-retrieval.py')
    ckpt = save_weights(t_cfg, tmp_path / 't.pth')
    text = write_config('rkd', s_cfg, t_cfg, ckpt, out=str(tmp_path / 'rkd.py'),
                        input_size=(32, 32))
    assert '#   0: head.fc 128 <- head.fc 512 (no connector)' in text
    mine = Config.fromfile(str(tmp_path / 'rkd.py')).model.distiller
    hand = Config.fromfile(osp.join(
        CONFIGS, 'mmrazor_rkd',
        'rkd_wrn-16-2-512d_resnet8x0.5-128d_toy-retrieval.py')).model.distiller
    for side in ('student_recorders', 'teacher_recorders'):
        assert [r.source for r in mine[side].values()] == \
            [r.source for r in hand[side].values()]
    assert mine.distill_losses.to_dict() == hand.distill_losses.to_dict()
    assert mine.connectors == {}
    for name in ('loss_rkd_d', 'loss_rkd_a'):
        assert mine.loss_forward_mappings[name].preds_S.from_student
        assert not mine.loss_forward_mappings[name].preds_T.from_student
    with pytest.raises(AutowireError, match='method: rkd serves retrieval, not detection'):
        write_config('rkd', TOY_S, TOY_T, 'x.pth')
    # it trains, with the student config's preprocessor (mmpretrain keeps it top-level)
    assert "type='mmpretrain.ClsDataPreprocessor'" in text
    opts = dict(cls_data_options(toy_retrieval_root, batch_size=8), **{
        'train_dataloader.sampler.batch_size': 8, 'default_hooks.logger.interval': 1})
    res = subprocess.run([sys.executable, 'tools/train.py', str(tmp_path / 'rkd.py'),
                          '--work-dir', str(tmp_path / 'work'), '--max-iters', '2',
                          *cli_options(opts)], cwd=ROOT, env=subprocess_env(),
                         capture_output=True, text=True, timeout=600)
    log = res.stdout + res.stderr
    assert res.returncode == 0, log[-3000:]
    assert re.search(r'distill\.loss_rkd_d: [0-9.]+', log) and \
        re.search(r'distill\.loss_rkd_a: [0-9.]+', log)


@pytest.mark.slow
def test_the_written_dkd_config_reads_the_labels_and_trains(tmp_path, toy_cls_root):
    """DKD on the toy classifiers: the logits of both heads and the student's labels
    from its head's loss module, as configs/mmrazor_dkd/ wires them; it trains. A
    teacher with other classes is refused, naming both counts."""
    t_cfg = osp.join(CONFIGS, 'classifiers', 'wrn-16-2_toy-cls.py')
    s_cfg = osp.join(CONFIGS, 'classifiers', 'resnet8_toy-cls.py')
    out = tmp_path / 'dkd.py'
    write_config('dkd', s_cfg, t_cfg, save_weights(t_cfg, tmp_path / 't.pth'),
                 out=str(out), input_size=(32, 32))
    mine = Config.fromfile(str(out)).model.distiller
    hand = Config.fromfile(osp.join(
        CONFIGS, 'mmrazor_dkd', 'dkd_logits_wrn-16-2_resnet8_toy-cls.py')).model.distiller
    for side in ('student_recorders', 'teacher_recorders'):  # (the hand-written base
        # also records the backbone for the other toy methods)
        assert {(r.type, r.source) for r in mine[side].values()} <= \
            {(r.type, r.source) for r in hand[side].values()}
    assert {r.source for r in mine.student_recorders.values()} == {'head.fc',
                                                                   'head.loss_module'}
    [(name, mapping)] = mine.loss_forward_mappings.items()
    assert name == 'loss_dkd' and mapping.gt_labels.to_dict() == \
        hand.loss_forward_mappings.loss_dkd.gt_labels.to_dict()
    assert mine.distill_losses.loss_dkd.type == 'DKDLoss'
    opts = cls_data_options(toy_cls_root, batch_size=8)
    res = subprocess.run([sys.executable, 'tools/train.py', str(out), '--work-dir',
                          str(tmp_path / 'work'), '--max-iters', '2',
                          *cli_options(dict(opts,
                                            **{'default_hooks.logger.interval': 1}))],
                         cwd=ROOT, env=subprocess_env(), capture_output=True, text=True,
                         timeout=600)
    log = res.stdout + res.stderr
    assert res.returncode == 0, log[-3000:]
    assert re.search(r'distill\.loss_dkd: [0-9.]+', log), log[-2000:]
    big = 'mmpretrain::resnet/resnet18_8xb32_in1k.py'
    with pytest.raises(AutowireError, match=r'logits: the student predicts \d+ classes '
                       r'and the teacher 1000'):
        write_config('dkd', s_cfg, big, save_weights(big, tmp_path / 'r18.pth'),
                     out=str(tmp_path / 'no.py'), input_size=(32, 32))


def test_written_values_read_as_hand_written_configs():
    """dict(key=...) where keys are names, filled lines under the first item when the
    items fit, one per line when not; every layout reads back equal."""
    from kd_plugins.autowire.writer import literal
    conn = dict(type='ConvModuleConnector', in_channel=24, out_channel=96, kernel_size=1,
                act_cfg=None, norm_cfg=None)
    assert literal(conn, 4, col=12) == (
        "dict(type='ConvModuleConnector', in_channel=24, out_channel=96,\n"
        "                 kernel_size=1, act_cfg=None, norm_cfg=None)")
    assert literal({'a b': (1, ), 'c': [None]}) == "{'a b': (1,), 'c': [None]}"
    nested = dict(connectors=dict(neck0_s=conn, neck1_s=conn), weights=[0.5] * 30)
    text = literal(nested, 0, 60)
    assert text.startswith('dict(\n    connectors=dict(\n        neck0_s=dict(')
    assert max(map(len, text.splitlines())) <= 60
    for value in (nested, conn, (1, ), [1, (2, )], {'a b': 1, 'c': [dict(x=1)]}):
        for width in (10, 30, 88):
            assert eval(literal(value, 0, width), {}) == value
