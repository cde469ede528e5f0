"""The chain a user runs: train a teacher, distil with --teacher-ckpt, export the student,
evaluate it with `mim test mmdet`, and the mim entry points of the plugin."""
import os.path as osp
import re
import shutil
import subprocess
import sys

import pytest
import torch

from conftest import (CWD_CFG, ROOT, TEACHER_CFG, cli_options, det_data_options,
                      free_port, subprocess_env)

MIM = osp.join(osp.dirname(sys.executable), 'mim')


def run(cmd, timeout=600):
    res = subprocess.run(cmd, cwd=ROOT, env=subprocess_env(), capture_output=True,
                         text=True, timeout=timeout)
    out = res.stdout + res.stderr
    assert res.returncode == 0, out[-4000:]
    return out


@pytest.fixture(scope='module')
def chain(tmp_path_factory, toy_det_root):
    tmp = tmp_path_factory.mktemp('chain')
    opts = cli_options(det_data_options(toy_det_root, batch_size=4))
    teacher_dir = str(tmp / 'teacher')
    run([sys.executable, 'tools/train.py', TEACHER_CFG, '--work-dir', teacher_dir,
         '--max-iters', '2'] + opts)
    teacher_ckpt = osp.join(teacher_dir, 'iter_2.pth')
    kd_dir = str(tmp / 'cwd')
    log = run([sys.executable, 'tools/train.py', CWD_CFG, '--work-dir', kd_dir,
               '--max-iters', '3', '--teacher-ckpt', teacher_ckpt] + opts +
              ['default_hooks.logger.interval=1'])
    export_dir = str(tmp / 'export')
    run([sys.executable, 'tools/export_student.py', osp.join(kd_dir, 'iter_3.pth'),
         '--config', CWD_CFG, '--out', export_dir])
    return dict(tmp=tmp, opts=opts, teacher_ckpt=teacher_ckpt, kd_dir=kd_dir, log=log,
                export_dir=export_dir, data=toy_det_root)


@pytest.mark.slow
def test_distillation_loads_teacher_and_logs_finite_distill_losses(chain):
    log = chain['log']
    assert f"from path: {chain['teacher_ckpt']}" in log  # the teacher was loaded
    vals = re.findall(r'distill\.loss_neck(\d): ([0-9.eE+-]+|nan|inf)', log)
    assert {v[0] for v in vals} == {'0', '1', '2'}
    assert all(float(v[1]) == float(v[1]) and abs(float(v[1])) < 1e6 for v in vals)


@pytest.mark.slow
def test_export_writes_plain_student(chain):
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmdet.registry import MODELS
    ckpt = torch.load(osp.join(chain['export_dir'], 'student.pth'), weights_only=True)
    assert set(ckpt) == {'state_dict', 'meta'}
    assert ckpt['meta']['dataset_meta']['classes'] == [
        'circle', 'square', 'triangle', 'cross', 'ring']
    cfg = Config.fromfile(osp.join(chain['export_dir'], 'student.py'))
    assert cfg.model.type == 'YOLOV3' and 'custom_imports' not in cfg
    init_default_scope('mmdet')
    student = MODELS.build(cfg.model)
    result = student.load_state_dict(ckpt['state_dict'], strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    # the exported weights are the distilled student's, not the teacher's
    full = torch.load(osp.join(chain['kd_dir'], 'iter_3.pth'), weights_only=False)
    key = 'backbone.conv1.conv.weight'
    assert torch.equal(ckpt['state_dict'][key], full['state_dict']['architecture.' + key])


@pytest.mark.slow
def test_mim_test_mmdet_on_exported_student(chain):
    out = run([MIM, 'test', 'mmdet', osp.join(chain['export_dir'], 'student.py'),
               '--checkpoint', osp.join(chain['export_dir'], 'student.pth'),
               '--work-dir', str(chain['tmp'] / 'mimtest')] + chain['opts'])
    m = re.search(r'coco/bbox_mAP: ([0-9.]+)', out)
    assert m and 0.0 <= float(m.group(1)) <= 1.0


@pytest.mark.slow
def test_mim_train_test_run_with_plugin(chain):
    work = str(chain['tmp'] / 'mim_train')
    # --launcher pytorch: torch.distributed.launch passes --local-rank (breakage 6);
    # on this CPU machine the 2 processes use gloo
    out = run([MIM, 'train', 'kd_plugins', TEACHER_CFG, '--launcher', 'pytorch',
               '--gpus', '2', '--port', str(free_port()), '--work-dir', work, '--max-iters', '2']
              + chain['opts'])
    assert osp.isfile(osp.join(work, 'iter_2.pth')), out[-3000:]
    out = run([MIM, 'test', 'kd_plugins', TEACHER_CFG, '--checkpoint',
               osp.join(work, 'iter_2.pth'), '--work-dir', work] + chain['opts'])
    assert re.search(r'coco/bbox_mAP: [0-9.]+', out)
    export = str(chain['tmp'] / 'mim_export')
    run([MIM, 'run', 'kd_plugins', 'export_student', osp.join(work, 'iter_2.pth'),
         '--config', TEACHER_CFG, '--out', export])
    assert osp.isfile(osp.join(export, 'student.pth'))


def test_train_rejects_missing_config_and_checkpoint(tmp_path):
    res = subprocess.run([sys.executable, 'tools/train.py', str(tmp_path / 'nope.py')],
                         cwd=ROOT, env=subprocess_env(), capture_output=True, text=True)
    assert res.returncode != 0 and 'nope.py' in res.stderr and 'not found' in res.stderr
    res = subprocess.run([sys.executable, 'tools/train.py', CWD_CFG, '--teacher-ckpt',
                          str(tmp_path / 'teacher_missing.pth'), '--work-dir',
                          str(tmp_path / 'w')],
                         cwd=ROOT, env=subprocess_env(), capture_output=True, text=True)
    assert res.returncode != 0
    assert 'teacher_ckpt' in res.stderr and 'teacher_missing.pth' in res.stderr


TOY_METHOD_CFGS = {
    'M1': ('attention_imitation/m1_yolov3-mbv2-w100_yolov3-mbv2-w025_toy-det.py',
           ('neck', 'cls', 'reg', 'xcls', 'xreg')),
    'M2': ('confidence_guided/m2_yolov3-mbv2-w100_yolov3-mbv2-w025_toy-det.py',
           ('neck', 'soft', 'reg', 'xcls', 'xreg')),
    'M4': ('info_map/m4_yolov3-mbv2-w100_yolov3-mbv2-w025_toy-det.py',
           ('neck', 'backbone')),
    'mmrazor:pkd': ('mmrazor_pkd/pkd_neck_yolov3-mbv2-w100_yolov3-mbv2-w025_toy-det.py',
                    ('neck', )),
    'mmrazor:fbkd': ('mmrazor_fbkd/fbkd_neck_yolov3-mbv2-w100_yolov3-mbv2-w025_toy-det.py',
                     ('neck', )),
}


@pytest.mark.slow
@pytest.mark.parametrize('method', sorted(TOY_METHOD_CFGS))
def test_toy_method_trains_with_the_teacher(chain, method):
    """Each toy distillation config trains real iterations from a trained teacher and
    every one of its distillation terms is finite and reported."""
    rel, kinds = TOY_METHOD_CFGS[method]
    work = str(chain['tmp'] / method.replace(':', '_'))
    log = run([sys.executable, 'tools/train.py', osp.join(ROOT, 'configs', rel),
               '--work-dir', work, '--max-iters', '2', '--teacher-ckpt',
               chain['teacher_ckpt']] + chain['opts'] + ['default_hooks.logger.interval=1'])
    vals = re.findall(r'distill\.loss_([a-z]+)(\d): ([0-9.eE+-]+|nan|inf)', log)
    assert {v[0] for v in vals} == set(kinds), log[-3000:]
    for kind in kinds:
        assert {v[1] for v in vals if v[0] == kind} == {'0', '1', '2'}
    assert all(0.0 <= float(v[2]) < 1e6 for v in vals)
    assert any(float(v[2]) > 0 for v in vals)
    assert osp.isfile(osp.join(work, 'iter_2.pth'))


@pytest.mark.slow
def test_m3_trains_on_labeled_and_unlabeled_toy_images(chain):
    """M3 trains real iterations with tools/train.py on a labeled + unlabeled split:
    every distillation term is reported for both branches, the task loss only for the
    labeled images."""
    from kd_plugins.datasets.toy import split_det_semi
    root = str(chain['tmp'] / 'semi_data')
    shutil.copytree(chain['data'], root)
    lab, unl = (split_det_semi(osp.join(root, 'annotations', 'train.json'), 25,
                               seed=0)[k] for k in ('labeled', 'unlabeled'))
    cfg = osp.join(ROOT, 'configs', 'semi_adaptive',
                   'm3_yolov3-mbv2-w100_yolov3-mbv2-w025_toy-det-semi10.py')
    opts = [o for o in chain['opts'] if not o.startswith('train_dataloader.')]
    for i, ann in enumerate((lab, unl)):
        opts += [f'train_dataloader.dataset.datasets.{i}.data_root={root}/',
                 f'train_dataloader.dataset.datasets.{i}.ann_file={ann}']
    opts += ['train_dataloader.batch_size=4', 'train_dataloader.sampler.batch_size=4',
             'train_dataloader.num_workers=0', 'train_dataloader.persistent_workers=False',
             'default_hooks.logger.interval=1']
    work = str(chain['tmp'] / 'm3')
    log = run([sys.executable, 'tools/train.py', cfg, '--work-dir', work, '--max-iters',
               '2', '--teacher-ckpt', chain['teacher_ckpt']] + opts)
    for prefix in ('distill', 'unsup.distill'):
        vals = re.findall(rf'\s{re.escape(prefix)}\.loss_([a-z]+)(\d): ([0-9.eE+-]+|nan)',
                          log)
        assert {(v[0], v[1]) for v in vals} == {(k, str(i)) for k in ('neck', 'soft', 'reg')
                                                for i in range(3)}, log[-3000:]
        assert all(0.0 <= float(v[2]) < 1e6 for v in vals)
    assert 'student.loss_cls' in log and 'unsup.student' not in log
    assert osp.isfile(osp.join(work, 'iter_2.pth'))
