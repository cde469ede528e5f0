"""The data-free configs (M7 and MMRazor's DAFL / DFAD baselines, toy and CIFAR-10 pairs)
and the CIFAR-10 classifier configs: they build offline, never download, share the
generator, data and student-step budget across the three methods, and MMRazor's
baselines train through this project's single-process path."""
import os.path as osp
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config

from conftest import CONFIGS, ROOT, subprocess_env

TOY = {
    'm7': osp.join(CONFIGS, 'dual_generator', 'm7_wrn-16-2_resnet8_toy-cls.py'),
    'dafl': osp.join(CONFIGS, 'mmrazor_dafl', 'dafl_wrn-16-2_resnet8_toy-cls.py'),
    'dfad': osp.join(CONFIGS, 'mmrazor_dfad', 'dfad_wrn-16-2_resnet8_toy-cls.py'),
}
CIFAR10 = {
    'm7': osp.join(CONFIGS, 'dual_generator', 'm7_resnet34_resnet18_cifar10.py'),
    'dafl': osp.join(CONFIGS, 'mmrazor_dafl', 'dafl_resnet34_resnet18_cifar10.py'),
    'dfad': osp.join(CONFIGS, 'mmrazor_dfad', 'dfad_resnet34_resnet18_cifar10.py'),
}
CLASSIFIERS = [osp.join(CONFIGS, 'classifiers', f'resnet{d}_cifar10.py')
               for d in (34, 18)]


def build_model(cfg):
    from mmengine.registry import init_default_scope
    from mmrazor.registry import MODELS
    init_default_scope(cfg.get('default_scope', 'mmpretrain'))
    return MODELS.build(cfg.model)


def student_steps(cfg):
    per_iter = cfg.model.get('student_iter', 1)
    return cfg.train_cfg.max_iters * per_iter


@pytest.mark.parametrize('pair', [TOY, CIFAR10], ids=['toy', 'cifar10'])
def test_methods_share_generator_data_and_budget(pair):
    cfgs = {k: Config.fromfile(p) for k, p in pair.items()}
    m7 = cfgs['m7']
    assert m7.model.generator_hard == m7.model.generator_easy
    assert cfgs['dafl'].model.generator == m7.model.generator_hard
    assert cfgs['dfad'].model.generator == m7.model.generator_hard
    # MMRazor's algorithms take their generated batch from the placeholder loader
    for name in ('dafl', 'dfad'):
        assert cfgs[name].train_dataloader.batch_size == m7.model.batch_size
        assert cfgs[name].train_dataloader.dataset.type == 'DataFreePlaceholderDataset'
        assert cfgs[name].optim_wrapper.architecture == m7.optim_wrapper.architecture
        assert cfgs[name].val_dataloader == m7.val_dataloader
    assert m7.train_dataloader.dataset.type == 'DataFreePlaceholderDataset'
    assert len({student_steps(c) for c in cfgs.values()}) == 1
    assert m7.model_wrapper_cfg.type == 'CPUAwareSeparateDistributedDataParallel'
    assert m7.optim_wrapper.constructor == 'mmrazor.SeparateOptimWrapperConstructor'


@pytest.mark.parametrize('path', list(TOY.values()) + list(CIFAR10.values()),
                         ids=lambda p: osp.basename(p))
def test_data_free_configs_build(path):
    cfg = Config.fromfile(path)
    model = build_model(cfg)
    names = dict(model.named_children())
    if cfg.model.type == 'DualGeneratorDataFreeDistill':
        assert {'architecture', 'teacher', 'generator_hard',
                'generator_easy'} <= set(names)
        assert model.num_hard + model.num_easy == cfg.model.batch_size
    else:
        assert {'architecture', 'teachers', 'generator'} <= set(names)
        # compat fix 4: the generator answers `.module` outside DDP
        assert model.generator.module.latent_dim == cfg.model.generator.latent_dim
    assert type(model.data_preprocessor).__name__ == 'ClsDataPreprocessor'
    assert model.data_preprocessor.mean.flatten().tolist() == \
        pytest.approx(cfg.data_preprocessor.mean)


@pytest.mark.parametrize('path', CLASSIFIERS + [CIFAR10['m7']], ids=osp.basename)
def test_cifar10_configs_never_download(path, tmp_path):
    from mmengine.registry import DATASETS, init_default_scope
    cfg = Config.fromfile(path)
    init_default_scope('mmpretrain')
    keys = ['val_dataloader', 'test_dataloader']
    if 'classifiers' in path:
        keys.append('train_dataloader')
    for key in keys:
        ds = cfg[key].dataset
        assert ds.type == 'CIFAR10' and ds.download is False
        ds.data_root = str(tmp_path / 'missing')
        with pytest.raises(RuntimeError, match='download'):
            DATASETS.build(ds)


@pytest.mark.parametrize('depth', [34, 18])
def test_cifar10_classifiers(depth):
    cfg = Config.fromfile(osp.join(CONFIGS, 'classifiers', f'resnet{depth}_cifar10.py'))
    model = build_model(cfg)
    assert type(model.backbone).__name__ == 'ResNet_CIFAR'
    assert model.backbone.depth == depth
    model.eval()
    with torch.no_grad():
        assert model(torch.zeros(2, 3, 32, 32), mode='tensor').shape == (2, 10)


@pytest.fixture(scope='module')
def toy_cls_and_teacher(tmp_path_factory):
    from mmengine.registry import MODELS as ROOT_MODELS
    from kd_plugins.datasets.toy import make_cls
    tmp = tmp_path_factory.mktemp('data_free_baselines')
    root = str(tmp / 'toy_cls')
    make_cls(root, num_train_per_class=4, num_val_per_class=2, num_test_per_class=2,
             seed=0)
    cfg = Config.fromfile(TOY['m7'])
    teacher = ROOT_MODELS.build(dict(cfg.model.teacher, _scope_='mmpretrain'))
    ckpt = str(tmp / 'teacher.pth')
    torch.save({'state_dict': teacher.state_dict()}, ckpt)
    return root + '/', ckpt


@pytest.mark.slow
@pytest.mark.parametrize('name', ['dafl', 'dfad'])
def test_mmrazor_baselines_train_in_one_process(name, tmp_path, toy_cls_and_teacher):
    root, ckpt = toy_cls_and_teacher
    opts = [f'{s}_dataloader.{k}={v}' for s in ('val', 'test')
            for k, v in (('dataset.data_root', root), ('num_workers', 0),
                         ('persistent_workers', False))]
    opts += [f'model.teachers.teacher.ckpt_path={ckpt}', 'train_dataloader.batch_size=8',
             'default_hooks.logger.interval=1']
    if name == 'dfad':
        opts.append('model.student_iter=2')
    work = str(tmp_path / 'work')
    res = subprocess.run([sys.executable, 'tools/train.py', TOY[name], '--work-dir', work,
                          '--max-iters', '2', '--cfg-options', *opts],
                         cwd=ROOT, env=subprocess_env(), capture_output=True, text=True,
                         timeout=600)
    out = res.stdout + res.stderr
    assert res.returncode == 0, out[-3000:]
    assert 'generator.loss' in out and 'distill.loss' in out and 'accuracy/top1' in out
    assert f'backend from path: {ckpt}' in out  # the teacher's checkpoint was loaded
    assert osp.isfile(osp.join(work, 'iter_2.pth'))
