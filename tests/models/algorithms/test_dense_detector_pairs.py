"""The real one-stage pairs people quote (issue 18): RetinaNet R101 -> R50, GFL R101 ->
R50, RTMDet-s -> tiny and YOLOX-s -> tiny, each with M1, M2 and M4. Every config builds
the full-size models (teacher without a checkpoint) and trains 2 iterations on a fake
image: finite losses and weights, every distillation term present and their sum
non-zero, the student's weights moving and the teacher's not. The head recorders must
see exactly what the head returns, or the head terms would compare the wrong tensors."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import OptimWrapper

from conftest import CONFIGS, raw_det_batch

PAIRS = ['retinanet-r101_retinanet-r50_fpn_coco', 'gfl-r101_gfl-r50_fpn_coco',
         'rtmdet-s_rtmdet-tiny_coco', 'yolox-s_yolox-tiny_coco']
METHODS = [('M1', 'attention_imitation', 'm1'), ('M2', 'confidence_guided', 'm2'),
           ('M4', 'info_map', 'm4')]
CASES = [(m, osp.join(CONFIGS, folder, f'{prefix}_{pair}.py'))
         for pair in PAIRS for m, folder, prefix in METHODS]


def build(cfg):
    from mmengine.registry import init_default_scope
    from mmrazor.registry import MODELS
    init_default_scope('mmdet')
    torch.manual_seed(0)
    return MODELS.build(cfg.model)


def check_head_recorders(algo, cfg, pair):
    """What `head_in` names for each level equals the head's own forward output."""
    algo.eval()
    student = algo.student
    data = algo.data_preprocessor(raw_det_batch(n=1, size=96, seed=5), False)
    recs = algo.distiller.student_recorders
    with recs, torch.no_grad():
        outs = student(data['inputs'], data['data_samples'], mode='tensor')
    stride_scaled = pair.startswith('rtmdet')  # RTMDet multiplies rtm_reg by the stride
    for k, kind in enumerate(cfg.head_sources):
        for i in range(cfg.num_levels):
            where = cfg.head_in[f'{kind}{i}']
            got = recs.get_recorder(where['recorder']).get_record_data(
                record_idx=where['record_idx'])
            want = outs[k][i]
            if kind == 'box' and stride_scaled:
                want = want / student.bbox_head.prior_generator.strides[i][0]
            torch.testing.assert_close(got, want, msg=f'{pair} {kind}{i}')


@pytest.mark.parametrize('method,path', CASES,
                         ids=[f'{m}-{osp.basename(p)[3:-3]}' for m, p in CASES])
def test_real_dense_pair_trains_two_iterations(method, path):
    """... and, with M2's config, the head recorders see the head's outputs."""
    from mmengine.logging import MessageHub
    MessageHub.get_current_instance().update_info('iter', 0)  # YOLOX's batch resize
    cfg = Config.fromfile(path)
    algo = build(cfg)
    algo.train()
    # clipped: an untrained teacher's outputs are far from a trained one's (YOLOX-s box
    # outputs ~1e3), and so is the first box-distillation gradient
    optim = OptimWrapper(torch.optim.SGD(
        [p for p in algo.parameters() if p.requires_grad], lr=1e-3),
        clip_grad=dict(max_norm=10.0))
    student0 = {k: v.detach().clone() for k, v in algo.student.state_dict().items()}
    teacher0 = {k: v.detach().clone() for k, v in algo.teacher.state_dict().items()}
    names = set(algo.distiller.distill_losses)
    for it in range(2):
        log = algo.train_step(raw_det_batch(n=1, size=96, seed=it), optim)
        distill = {k: v for k, v in log.items() if k.startswith('distill.')}
        assert {k.split('.', 1)[1] for k in distill} == names
        for k, v in log.items():
            assert torch.isfinite(torch.as_tensor(v)).all(), (it, k)
        assert sum(float(v.detach()) for v in distill.values()) > 0
    floats = {k: v for k, v in algo.student.state_dict().items()
              if v.dtype.is_floating_point}
    assert [k for k, v in floats.items() if not torch.equal(v, student0[k])]
    assert all(torch.isfinite(v).all() for v in floats.values())
    for k, v in algo.teacher.state_dict().items():
        assert torch.equal(v, teacher0[k]), f'teacher {k} changed'
    if method == 'M2':
        check_head_recorders(algo, cfg, osp.basename(path)[3:-3])


def test_yolox_mode_switch_reaches_the_student_head():
    """mmdet's YOLOXModeSwitchHook turns the L1 box loss on for the last epochs through
    ``model.detector``; in a distillation run that must be the student."""
    from mmdet.engine.hooks import YOLOXModeSwitchHook
    algo = build(Config.fromfile(
        osp.join(CONFIGS, 'confidence_guided', 'm2_yolox-s_yolox-tiny_coco.py')))

    class Loader:
        persistent_workers = False

        class dataset:  # noqa: N801
            @staticmethod
            def update_skip_type_keys(keys):
                pass

    class Runner:
        epoch, max_epochs, model, train_dataloader = 299, 300, algo, Loader()
        logger = type('L', (), {'info': staticmethod(lambda *a: None)})

    assert not algo.student.bbox_head.use_l1
    YOLOXModeSwitchHook(num_last_epochs=15).before_train_epoch(Runner())
    assert algo.student.bbox_head.use_l1 and not algo.teacher.bbox_head.use_l1
