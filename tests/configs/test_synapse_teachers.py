"""The plain Synapse teacher configs (issue 20: mmseg ships no Synapse checkpoints, so a
user trains M6's three teachers first): each is exactly the M6 Synapse config's teacher,
so a checkpoint trained with it loads into M6 strictly; it is a plain mmseg segmentor
with the crop size mmseg needs to train (224 px, 9 classes)."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from conftest import CONFIGS

M6 = osp.join(CONFIGS, 'multi_teacher', 'm6_unet-s5-fcn_deeplabv3-r101_pspnet-r101_'
              'unet-s5-c16_4xb6-40k_synapse-224x224.py')
TEACHERS = {
    'fcn': 'unet-s5-d16_fcn', 'deeplabv3': 'deeplabv3_r101-d8', 'pspnet': 'pspnet_r101-d8'}


def teacher_cfg(name):
    return osp.join(CONFIGS, 'segmentors',
                    f'{TEACHERS[name]}_4xb6-40k_synapse-224x224.py')


def build(model_cfg):
    """Built in the mmseg scope, which is given back afterwards (a scope left set
    changes which registry later tests' ``DATASETS.build`` reads)."""
    from mmengine.registry import DefaultScope
    from mmrazor.registry import MODELS
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('mmseg'):
        return MODELS.build(model_cfg)


@pytest.fixture(scope='module')
def m6_teachers():
    cfg = Config.fromfile(M6)
    return {name: build(cfg.model.teachers[name].model) for name in TEACHERS}


@pytest.mark.parametrize('name', list(TEACHERS))
def test_teacher_config_is_m6s_teacher(name, m6_teachers):
    cfg = Config.fromfile(teacher_cfg(name))
    assert cfg.model.type == 'EncoderDecoder'  # a plain segmentor, not a distiller
    assert cfg.model.data_preprocessor.size == (224, 224)  # mmseg needs it to train
    assert cfg.train_cfg.max_iters == 40000
    model = build(cfg.model)
    assert model.decode_head.num_classes == 9
    ours = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    theirs = {k: tuple(v.shape) for k, v in m6_teachers[name].state_dict().items()}
    assert ours == theirs


def test_a_trained_teacher_checkpoint_loads_into_m6(tmp_path):
    """A runner checkpoint of the fcn teacher config (weights perturbed, as training
    would) goes into M6 through ``ckpt_path`` with the strict check, weight for weight."""
    model = build(Config.fromfile(teacher_cfg('fcn')).model)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p))
    ckpt = tmp_path / 'iter_40000.pth'
    torch.save(dict(meta=dict(iter=40000), state_dict=model.state_dict()), ckpt)
    cfg = Config.fromfile(M6)
    cfg.model.teachers = dict(fcn=dict(cfg.model.teachers.fcn, ckpt_path=str(ckpt)))
    algo = build(cfg.model)
    loaded = algo.teachers['fcn'].state_dict()
    for key, value in model.state_dict().items():
        assert torch.equal(loaded[key], value), key
