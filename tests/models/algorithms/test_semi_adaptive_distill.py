"""M3 SemiAdaptiveDistill on real multi-branch toy batches: unlabeled samples are never
asked for a ground-truth field, both branches distil, the labeled one also trains on
its labels, and bad configs / batches get clear errors."""
import copy
import os.path as osp
import shutil

import pytest
import torch
from mmengine.config import Config

from conftest import CONFIGS
from kd_plugins.datasets.toy import split_det_semi
from kd_plugins.models.utils import DistillConfigError

M3_CFG = osp.join(CONFIGS, 'semi_adaptive',
                  'm3_yolov3-mbv2-w100_yolov3-mbv2-w025_toy-det-semi10.py')
GT_FIELDS = ('gt_instances', 'ignored_instances', 'gt_sem_seg', 'gt_panoptic_seg')


def guarded_sample_type():
    """A DetDataSample whose ground-truth fields raise when read."""
    from mmdet.structures import DetDataSample

    def guard(name):
        def read(self):
            raise AssertionError(f'{name} of a guarded sample was read')

        def write(self, value):
            self.set_field(value, '_' + name, dtype=object)
        return property(read, write)

    return type('GuardedDetDataSample', (DetDataSample, ),
                {name: guard(name) for name in GT_FIELDS})


@pytest.fixture(scope='module')
def semi_cfg(toy_det_root, tmp_path_factory):
    root = str(tmp_path_factory.mktemp('m3')) + '/toy'
    shutil.copytree(toy_det_root, root)
    res = split_det_semi(osp.join(root, 'annotations', 'train.json'), 25, seed=0)
    cfg = Config.fromfile(M3_CFG)
    loader = cfg.train_dataloader
    loader.num_workers, loader.persistent_workers = 0, False
    loader.batch_size = loader.sampler.batch_size = 4
    for ds, ann in zip(loader.dataset.datasets, (res['labeled'], res['unlabeled'])):
        ds.data_root, ds.ann_file = root, ann
    return cfg


def build(model_cfg):
    from mmengine.registry import init_default_scope
    from mmrazor.registry import MODELS
    init_default_scope('mmdet')
    torch.manual_seed(0)
    return MODELS.build(copy.deepcopy(model_cfg))


def first_batch(cfg):
    from mmengine.registry import init_default_scope
    from mmengine.runner import Runner
    init_default_scope('mmdet')
    return next(iter(Runner.build_dataloader(copy.deepcopy(cfg.train_dataloader),
                                             seed=0)))


def guard(batch, branch):
    """``batch`` with the samples of ``branch`` replaced by guarded copies."""
    sample_type = guarded_sample_type()
    out = dict(inputs=dict(batch['inputs']), data_samples=dict(batch['data_samples']))
    guarded = []
    for s in out['data_samples'][branch]:
        if s is None:
            guarded.append(None)
            continue
        g = sample_type(metainfo=s.metainfo)
        for name in GT_FIELDS:
            if name in s:
                setattr(g, name, getattr(s, name))
        guarded.append(g)
    out['data_samples'][branch] = guarded
    return out


def test_batch_holds_both_branches_in_the_ratio(semi_cfg):
    batch = first_batch(semi_cfg)
    for branch in ('sup', 'unsup'):
        assert sum(x is not None for x in batch['inputs'][branch]) == 2


def test_unlabeled_samples_are_never_asked_for_ground_truth(semi_cfg):
    from mmengine.optim import OptimWrapper
    algo = build(semi_cfg.model)
    algo.train()
    ow = OptimWrapper(torch.optim.SGD(algo.parameters(), lr=0.0))
    batch = first_batch(semi_cfg)
    # the guard works: labeled samples guarded make the labeled path fail
    with pytest.raises(AssertionError, match='of a guarded sample was read'):
        algo.train_step(guard(batch, 'sup'), ow)
    log_vars = algo.train_step(guard(batch, 'unsup'), ow)
    unsup = {k: v for k, v in log_vars.items() if k.startswith('unsup.distill.')}
    sup = {k: v for k, v in log_vars.items() if k.startswith('distill.')}
    assert {k[len('unsup.'):] for k in unsup} == set(sup) and len(sup) == 9
    assert any(k.startswith('student.loss') for k in log_vars)
    assert not any(k.startswith('unsup.student') for k in log_vars)  # no task loss
    assert all(torch.isfinite(torch.as_tensor(v)) for v in log_vars.values())
    assert sum(float(v) for v in unsup.values()) > 0


def test_teacher_gets_its_own_view_of_each_branch(semi_cfg):
    from kd_plugins.models.algorithms.preprocess_aware_distill import renormalize
    cfg = copy.deepcopy(semi_cfg.model)
    cfg.architecture.data_preprocessor.mean = [10.0, 20.0, 30.0]  # differs from teacher
    algo = build(cfg)
    assert algo.teacher_own_preprocess
    pp = algo.data_preprocessor
    data = pp(first_batch(semi_cfg), True)
    for branch in ('sup', 'unsup'):
        s_inputs = data['inputs'][branch]
        t = pp.take_teacher_batch(s_inputs)
        assert t is not None and t['inputs'].shape == s_inputs.shape
        torch.testing.assert_close(
            t['inputs'], renormalize(s_inputs, pp.student_pp, algo.teacher.data_preprocessor),
            atol=1e-4, rtol=0)
        assert pp.take_teacher_batch(s_inputs) is None  # taken once


def test_unlabeled_distillation_reaches_the_student_and_unsup_weight_scales_it(
        semi_cfg):
    cfg = copy.deepcopy(semi_cfg.model)
    algo = build(cfg)
    algo.train()
    data = algo.data_preprocessor(first_batch(semi_cfg), True)
    unsup_only = ({'unsup': data['inputs']['unsup']},
                  {'unsup': data['data_samples']['unsup']})
    losses = algo.loss(*unsup_only)
    assert set(losses) == {f'unsup.distill.loss_{k}{i}' for k in ('neck', 'soft', 'reg')
                           for i in range(3)}
    total = sum(losses.values())
    total.backward()
    grads = [p.grad for p in algo.student.parameters() if p.grad is not None]
    assert grads and any(g.abs().sum() > 0 for g in grads)
    assert all(p.grad is None for p in algo.teacher.parameters())
    cfg.unsup_weight = 0.5
    half = build(cfg)
    half.load_state_dict(algo.state_dict())
    half.train()
    h = half.loss(*unsup_only)
    torch.testing.assert_close(sum(h.values()), 0.5 * total.detach(), rtol=1e-4,
                               atol=1e-4)


def test_plain_batch_is_a_labeled_batch(semi_cfg):
    algo = build(semi_cfg.model)
    algo.train()
    data = algo.data_preprocessor(first_batch(semi_cfg), True)
    losses = algo.loss(data['inputs']['sup'], data['data_samples']['sup'])
    assert any(k.startswith('student.') for k in losses)
    assert any(k.startswith('distill.') for k in losses)
    assert not any(k.startswith('unsup.') for k in losses)


def test_bad_branches_and_weights(semi_cfg):
    for field, value, match in (('unsup_branch', 'sup', 'both'),
                                ('sup_branch', '', 'sup_branch'),
                                ('unsup_weight', -1.0, 'unsup_weight'),
                                ('unsup_weight', float('inf'), 'unsup_weight')):
        cfg = copy.deepcopy(semi_cfg.model)
        cfg[field] = value
        with pytest.raises(DistillConfigError, match=match):
            build(cfg)
    algo = build(semi_cfg.model)
    x = torch.zeros(1, 3, 160, 160)
    with pytest.raises(ValueError, match=r"branches \['labeled', 'unsup'\].*"
                       r"\['sup', 'unsup'\]"):
        algo.loss({'labeled': x, 'unsup': x}, {'labeled': [], 'unsup': []})


def test_faster_rcnn_pair_distils_unlabeled_images():
    """Two-stage M3 on unlabeled images: the student in tensor mode proposes RoIs, the
    teacher's RoI head scores the same RoIs, every term is finite and trains the
    student; no sample carries a gt field."""
    from mmdet.structures import DetDataSample
    cfg = Config.fromfile(osp.join(
        CONFIGS, 'semi_adaptive', 'm3_faster-rcnn-r101_faster-rcnn-r50_fpn_coco-semi10.py'))
    cfg.model.teacher_ckpt = None
    algo = build(cfg.model)
    algo.train()
    sample_type = guarded_sample_type()
    g = torch.Generator().manual_seed(0)
    imgs = [torch.randint(0, 256, (3, 128, 160), dtype=torch.uint8, generator=g)
            for _ in range(2)]
    meta = dict(img_shape=(128, 160), ori_shape=(128, 160), scale_factor=(1.0, 1.0))
    samples = [sample_type(metainfo=meta) for _ in imgs]
    data = algo.data_preprocessor(
        dict(inputs=dict(unsup=imgs), data_samples=dict(unsup=samples)), True)
    losses = algo.loss(data['inputs'], data['data_samples'])
    names = {k.split('.')[-1] for k in losses}
    assert {'loss_roi_soft', 'loss_roi_reg', 'loss_rpn_soft0', 'loss_fpn4'} <= names
    assert all(k.startswith('unsup.distill.') for k in losses)
    assert all(torch.isfinite(v) for v in losses.values())
    sum(losses.values()).backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0
               for p in algo.student.roi_head.parameters())
    assert all(p.grad is None for p in algo.teacher.parameters())
