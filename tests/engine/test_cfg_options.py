"""--cfg-options that would change nothing are refused, naming the key (tools/train.py,
tools/test.py and so mim train/test read configs through tools/_common.read_config)."""
import copy
import os.path as osp
import subprocess
import sys

import pytest
from mmengine.config import Config

from conftest import CONFIGS, CWD_CFG, ROOT, subprocess_env
from kd_plugins.engine.cfg_options import ConfigOptionError, check_cfg_options

SEMI_CFG = osp.join(CONFIGS, 'semi_adaptive',
                    'm3_yolov3-mbv2-w100_yolov3-mbv2-w025_toy-det-semi10.py')
KD_CLS_CFG = osp.join(CONFIGS, 'mmrazor_kd', 'kd_logits_wrn-16-2_resnet8_toy-cls.py')


def read_config(path, options):
    sys.path.insert(0, osp.join(ROOT, 'tools'))
    try:
        from _common import read_config as read
    finally:
        sys.path.remove(osp.join(ROOT, 'tools'))
    return read(path, options)


@pytest.fixture(scope='module')
def cwd_cfg():
    return Config.fromfile(CWD_CFG)


def refused(cfg, key, value=1, path='cfg.py'):
    with pytest.raises(ConfigOptionError) as err:
        check_cfg_options(cfg, {key: value}, path)
    return str(err.value)


def test_mistyped_top_level_key_names_the_closest(cwd_cfg):
    msg = refused(cwd_cfg, 'modle.distiller.distill_losses.loss_neck0.loss_weight')
    assert "--cfg-options modle.distiller" in msg
    assert "no top-level key 'modle'" in msg
    assert 'closest keys: model.distiller.distill_losses.loss_neck0.loss_weight' in msg


def test_unknown_loss_key_names_the_key_and_the_losses(cwd_cfg):
    msg = refused(cwd_cfg, 'model.distiller.distill_losses.nope.loss_weight')
    assert "model.distiller.distill_losses has no key 'nope'" in msg
    assert 'has: loss_neck0, loss_neck1, loss_neck2' in msg
    assert '+model.distiller.distill_losses.nope.loss_weight=' in msg


def test_mistyped_argument_of_a_component_names_its_arguments(cwd_cfg):
    msg = refused(cwd_cfg, 'model.distiller.distill_losses.loss_neck0.tua')
    assert "has no key 'tua'" in msg and 'takes e.g. tau' in msg


def test_list_index_out_of_range_is_refused(cwd_cfg):
    n = len(cwd_cfg.param_scheduler)
    msg = refused(cwd_cfg, f'param_scheduler.{n}.end')
    assert f"param_scheduler has no key '{n}'" in msg


@pytest.mark.parametrize('key, value', [
    ('model.distiller.distill_losses.loss_neck0.loss_weight', 2.0),  # exists
    ('model.teacher_strict', False),       # an argument of the algorithm (its type)
    ('train_dataloader.prefetch_factor', 2),  # a DataLoader argument
    ('train_cfg.val_begin', 2),            # an argument of its EpochBasedTrainLoop
    ('randomness.seed', 3),                # a Runner section with defaults
    ('param_scheduler.0.end', 5),          # a list index
    ('teacher_ckpt', 'x.pth'),             # read by the tools
    ('work_dir', 'w'),                     # read by the Runner
])
def test_keys_that_take_effect_are_accepted(cwd_cfg, key, value):
    assert check_cfg_options(cwd_cfg, {key: value}, 'cfg.py') == {key: value}


def test_section_without_type_takes_its_runner_arguments():
    cfg = Config.fromfile(KD_CLS_CFG)  # mmpretrain style: train_cfg has no type
    assert 'type' not in cfg.train_cfg
    check_cfg_options(cfg, {'train_cfg.max_iters': 10}, 'cfg.py')  # the iteration loop
    msg = refused(cfg, 'train_cfg.max_iter')
    assert 'takes e.g. max_iters' in msg


def test_epoch_loop_does_not_take_an_iteration_count(cwd_cfg):
    assert cwd_cfg.train_cfg.type == 'EpochBasedTrainLoop'
    msg = refused(cwd_cfg, 'train_cfg.max_iters')
    assert "train_cfg has no key 'max_iters'" in msg and 'takes e.g. max_epochs' in msg


def test_plus_adds_a_key_without_checks(cwd_cfg):
    cfg = copy.deepcopy(cwd_cfg)
    opts = check_cfg_options(cfg, {'+model.new_key': 3}, 'cfg.py')
    assert opts == {'model.new_key': 3}
    cfg.merge_from_dict(opts)
    assert cfg.model.new_key == 3


def test_top_level_variable_is_reported_with_the_field_it_feeds():
    cfg = Config.fromfile(SEMI_CFG)
    msg = refused(cfg, 'unlabeled_ann', 'other.json', SEMI_CFG)
    assert "--cfg-options unlabeled_ann has no effect" in msg
    assert 'read only while the file is parsed' in msg
    assert '--cfg-options train_dataloader.dataset.datasets.1.ann_file=' in msg
    # a variable holding a dict: the path into the field it became
    msg = refused(cfg, 'unlabeled_dataset.ann_file', 'other.json', SEMI_CFG)
    assert 'train_dataloader.dataset.datasets.1.ann_file' in msg


def test_read_config_refuses_and_applies():
    with pytest.raises(SystemExit, match=r"error: --cfg-options model\.distiller\."
                                         r"distill_losses\.nope\.loss_weight"):
        read_config(KD_CLS_CFG, {'model.distiller.distill_losses.nope.loss_weight': 1})
    cfg = read_config(KD_CLS_CFG, {'model.distiller.distill_losses.loss_kd.tau': 2,
                                   '+model.extra': 1})
    assert cfg.model.distiller.distill_losses.loss_kd.tau == 2 and cfg.model.extra == 1


def test_read_config_takes_a_packages_own_config():
    """tools/train.py mmpretrain::resnet/... (the toy comparison trains its teacher from
    mmpretrain's own config with --cfg-options only)."""
    from kd_plugins.datasets.toy import imagenet_config_options
    cfg = read_config('mmpretrain::resnet/resnet50_8xb32_in1k.py',
                      imagenet_config_options('data/toy_cls'))
    assert cfg.model.head.num_classes == 10
    assert cfg.test_dataloader.dataset.data_prefix == 'test'
    assert cfg.val_dataloader.dataset.pipeline[2].crop_size == 32
    assert cfg.work_dir.endswith('resnet50_8xb32_in1k')
    with pytest.raises(SystemExit, match=r"error: config 'mmpretrain::resnet/nope\.py' "
                                         'is no config of an installed package'):
        read_config('mmpretrain::resnet/nope.py', {})


def test_train_cli_refuses_a_top_level_variable(tmp_path):
    proc = subprocess.run(
        [sys.executable, 'tools/train.py', SEMI_CFG, '--work-dir', str(tmp_path / 'w'),
         '--cfg-options', 'unlabeled_ann=annotations/mine.json'],
        cwd=ROOT, env=subprocess_env(), capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0
    assert '--cfg-options unlabeled_ann has no effect' in proc.stderr
    assert 'train_dataloader.dataset.datasets.1.ann_file' in proc.stderr
    assert not (tmp_path / 'w').exists()  # refused before the Runner made anything


def test_unknown_loss_without_type_fails_at_build_naming_it():
    """A loss entry without ``type`` (added by hand or with +key) names the loss."""
    from mmengine.registry import DefaultScope
    from mmrazor.registry import MODELS

    from kd_plugins.models.utils import DistillConfigError

    def build(model):  # in mmdet's scope, left as it was afterwards
        with DefaultScope.overwrite_default_scope('mmdet'):
            return MODELS.build(model)

    model = Config.fromfile(CWD_CFG).model.to_dict()
    model['distiller']['distill_losses']['nope'] = dict(loss_weight=1)
    with pytest.raises(DistillConfigError,
                       match=r"distiller\.distill_losses\.nope has no type.*loss_neck0"):
        build(copy.deepcopy(model))
    del model['distiller']['distill_losses']['nope']
    model['distiller']['loss_forward_mappings']['loss_neck9'] = \
        model['distiller']['loss_forward_mappings']['loss_neck0']
    with pytest.raises(DistillConfigError,
                       match=r"loss_forward_mappings\.loss_neck9: there is no loss"):
        build(copy.deepcopy(model))
    del model['distiller']['loss_forward_mappings']['loss_neck0']
    del model['distiller']['loss_forward_mappings']['loss_neck9']
    with pytest.raises(DistillConfigError,
                       match=r"distill_losses\.loss_neck0 has no entry in .*never be "
                             'computed'):
        build(model)
