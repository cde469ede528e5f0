"""The CIFAR KD-benchmark backbones: the parameter counts of the standard networks
(as the CRD paper's tables list them), stage outputs for recorders, bad arguments named,
the CIFAR-100 configs build and never download, and a classifier trains on toy data."""
import os.path as osp
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config

from conftest import CONFIGS, ROOT, subprocess_env

# parameters (millions) of the classifier with a 100-class head, as listed by Tian et
# al., "Contrastive Representation Distillation" (ICLR 2020), Table 1
STANDARD = [
    (dict(type='CifarKDResNet', arch='resnet32x4'), 256, 7.43),
    (dict(type='CifarKDResNet', arch='resnet8x4'), 256, 1.23),
    (dict(type='WideResNet', depth=40, widen_factor=2), 128, 2.25),
    (dict(type='WideResNet', depth=16, widen_factor=2), 128, 0.70),
    (dict(type='CifarKDResNet', arch='resnet56'), 64, 0.86),
    (dict(type='CifarKDResNet', arch='resnet20'), 64, 0.28),
]


def classifier(backbone, channels, num_classes=100):
    from mmengine.registry import init_default_scope
    from mmpretrain.registry import MODELS
    init_default_scope('mmpretrain')
    return MODELS.build(dict(
        type='ImageClassifier', backbone=backbone,
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=num_classes, in_channels=channels)))


@pytest.mark.parametrize('backbone,channels,millions', STANDARD,
                         ids=lambda v: str(v.get('arch', v.get('depth')))
                         if isinstance(v, dict) else None)
def test_standard_networks_have_their_published_size(backbone, channels, millions):
    model = classifier(backbone, channels)
    n = sum(p.numel() for p in model.parameters()) / 1e6
    assert n == pytest.approx(millions, abs=0.006)
    out = model.backbone(torch.zeros(2, 3, 32, 32))
    assert len(out) == 1 and out[0].shape == (2, channels, 8, 8)
    logits = model(torch.zeros(2, 3, 32, 32), mode='tensor')
    assert logits.shape == (2, 100)


def test_every_stage_can_be_recorded():
    from kd_plugins.models.backbones import CifarKDResNet, WideResNet
    x = torch.zeros(1, 3, 32, 32)
    outs = CifarKDResNet('resnet8x4', out_indices=(0, 1, 2))(x)
    assert [tuple(o.shape[1:]) for o in outs] == [(64, 32, 32), (128, 16, 16),
                                                 (256, 8, 8)]
    wrn = WideResNet(16, 2, out_indices=(0, -1))
    outs = wrn(x)
    assert [o.shape[1] for o in outs] == [32, 128]
    assert (outs[1] >= 0).all()  # the last stage ends with the final BN-ReLU
    assert wrn.stage_channels == (32, 64, 128)


def test_bad_arguments_are_named():
    from kd_plugins.models.backbones import CifarKDResNet, WideResNet
    with pytest.raises(ValueError, match="arch: unknown CIFAR ResNet 'resnet9'"):
        CifarKDResNet('resnet9')
    with pytest.raises(ValueError, match=r'out_indices: .* 3 stages'):
        CifarKDResNet('resnet8', out_indices=(3, ))
    with pytest.raises(ValueError, match='depth: a WRN depth is 6n \\+ 4'):
        WideResNet(depth=18)
    with pytest.raises(ValueError, match='widen_factor'):
        WideResNet(depth=16, widen_factor=0)


CIFAR_CONFIGS = ['resnet32x4_cifar100.py', 'resnet8x4_cifar100.py',
                 'wrn-40-2_cifar100.py', 'wrn-16-2_cifar100.py']


@pytest.mark.parametrize('name', CIFAR_CONFIGS)
def test_cifar100_configs_never_download(name, tmp_path):
    from mmengine.registry import DATASETS, init_default_scope
    cfg = Config.fromfile(osp.join(CONFIGS, 'classifiers', name))
    init_default_scope('mmpretrain')
    for key in ('train_dataloader', 'val_dataloader'):
        ds = cfg[key].dataset
        assert ds.download is False
        ds.data_root = str(tmp_path / 'missing')
        with pytest.raises(RuntimeError, match='download'):
            DATASETS.build(ds)
        assert not (tmp_path / 'missing').exists() or \
            not any((tmp_path / 'missing').iterdir())


@pytest.mark.slow
def test_cifar_classifier_trains_on_toy_cls(tmp_path):
    """resnet8x4 trains real iterations through tools/train.py on the toy
    classification set (32 px, 10 classes) with the CIFAR config's model."""
    from kd_plugins.datasets.toy import make_cls
    root = str(tmp_path / 'toy_cls')
    make_cls(root, num_train_per_class=4, num_val_per_class=2, num_test_per_class=2,
             seed=0)
    cfg = tmp_path / 'r8x4_toy.py'
    cfg.write_text(f'''_base_ = [{osp.join(CONFIGS, '_base_', 'datasets', 'toy_cls.py')!r},
          'mmpretrain::_base_/default_runtime.py',
          {osp.join(CONFIGS, '_base_', 'kd_runtime.py')!r}]
model = dict(type='ImageClassifier',
             backbone=dict(type='CifarKDResNet', arch='resnet8x4'),
             neck=dict(type='GlobalAveragePooling'),
             head=dict(type='LinearClsHead', num_classes=10, in_channels=256))
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.05, momentum=0.9))
train_cfg = dict(by_epoch=True, max_epochs=1)
val_cfg = dict()
test_cfg = dict()
''')
    opts = [f'{s}_dataloader.{k}={v}' for s in ('train', 'val', 'test')
            for k, v in (('dataset.data_root', root + '/'), ('num_workers', 0),
                         ('persistent_workers', False), ('batch_size', 8))]
    work = str(tmp_path / 'work')
    res = subprocess.run([sys.executable, 'tools/train.py', str(cfg), '--work-dir', work,
                          '--max-iters', '3', '--cfg-options', *opts,
                          'default_hooks.logger.interval=1'],
                         cwd=ROOT, env=subprocess_env(), capture_output=True, text=True,
                         timeout=600)
    out = res.stdout + res.stderr
    assert res.returncode == 0, out[-3000:]
    assert 'accuracy/top1' in out and osp.isfile(osp.join(work, 'iter_3.pth'))


def test_half_width_resnet8_halves_every_stage():
    """``resnet8x0.5`` (the toy retrieval student): resnet8 with half the channels at every
    stage (8 / 16 / 32 out), so about a quarter of its convolution weights."""
    import torch
    from kd_plugins.models.backbones.cifar_kd import CifarKDResNet
    full, half = CifarKDResNet('resnet8', out_indices=(0, 1, 2)), \
        CifarKDResNet('resnet8x0.5', out_indices=(0, 1, 2))
    x = torch.rand(2, 3, 32, 32)
    assert [o.shape[1] for o in full(x)] == [16, 32, 64]
    assert [o.shape[1] for o in half(x)] == [8, 16, 32]
    assert [o.shape[2:] for o in half(x)] == [o.shape[2:] for o in full(x)]
    n_full, n_half = (sum(p.numel() for p in m.parameters()) for m in (full, half))
    assert 0.2 < n_half / n_full < 0.3


@pytest.mark.parametrize('net', ['resnet8', 'wrn'])
def test_frozen_stages_take_no_gradient_and_keep_their_bn_statistics(net):
    """``frozen_stages=k``: the stem and stages 1..k get no gradient and their BN stays
    in eval mode after ``train()``; the rest trains. The output is that of the same
    weights unfrozen in the matching modes."""
    from kd_plugins.models.backbones import CifarKDResNet, WideResNet
    torch.manual_seed(0)
    make = (lambda k: CifarKDResNet('resnet8', frozen_stages=k)) if net == 'resnet8' \
        else (lambda k: WideResNet(depth=10, widen_factor=1, frozen_stages=k))
    frozen, free = make(2), make(-1)
    free.load_state_dict(frozen.state_dict())
    frozen.train()
    stem = [frozen.conv1] + ([frozen.bn1] if net == 'resnet8' else [])
    for module in stem + list(frozen.stages[:2]):
        assert all(not p.requires_grad for p in module.parameters())
        assert all(not m.training for m in module.modules())
    last = frozen.stages[2]
    assert all(p.requires_grad for p in last.parameters())
    assert all(m.training for m in last.modules())
    x = torch.randn(4, 3, 32, 32)
    frozen(x)[0].sum().backward()
    assert frozen.conv1.weight.grad is None and frozen.stages[1][0].conv1.weight.grad is None
    assert last[0].conv1.weight.grad.abs().sum() > 0
    # the same numbers as the unfrozen copy with the frozen part in eval mode
    free.train()
    for module in [free.conv1] + ([free.bn1] if net == 'resnet8' else []) + \
            list(free.stages[:2]):
        module.eval()
    with torch.no_grad():
        assert torch.allclose(frozen(x)[0], free(x)[0], atol=1e-6)
    # all three frozen: a WRN's final BN too
    if net == 'wrn':
        whole = make(3)
        whole.train()
        assert not whole.bn_final.training and not whole.bn_final.weight.requires_grad


@pytest.mark.parametrize('value', [4, -2, 1.5, True])
def test_bad_frozen_stages_is_named(value):
    from kd_plugins.models.backbones import CifarKDResNet, WideResNet
    with pytest.raises(ValueError, match='frozen_stages'):
        CifarKDResNet('resnet8', frozen_stages=value)
    with pytest.raises(ValueError, match='frozen_stages'):
        WideResNet(depth=10, widen_factor=1, frozen_stages=value)
