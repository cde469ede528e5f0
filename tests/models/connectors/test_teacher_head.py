"""The cross-head connector (M1 and M2 toy defaults since issue 18): the teacher's head on
adapted student features. It must reproduce the teacher head's own output when fed the
teacher's feature, pass gradients to the adapter and the student but never change the
teacher, keep the teacher out of its state dict, and reject bad settings by name."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import OptimWrapper

from conftest import CONFIGS, raw_det_batch

XHEAD = {m: osp.join(CONFIGS, folder, f'{m.lower()}_yolov3-mbv2-w100_yolov3-mbv2-w025_'
                     'toy-det.py')
         for m, folder in (('M1', 'attention_imitation'), ('M2', 'confidence_guided'))}


def build(cfg):
    from mmengine.registry import init_default_scope
    from mmrazor.registry import MODELS
    init_default_scope('mmdet')
    torch.manual_seed(0)
    return MODELS.build(cfg.model)


@pytest.fixture(scope='module')
def m1_xhead():
    return build(Config.fromfile(XHEAD['M1']))


def test_connector_is_the_teachers_head_branch(m1_xhead):
    """Identity adaptation + teacher feature in -> exactly the teacher's level output."""
    from kd_plugins.models.connectors import TeacherHeadConnector
    teacher = m1_xhead.teacher
    teacher.eval()
    data = m1_xhead.data_preprocessor(raw_det_batch(n=1, size=96, seed=3), False)
    with torch.no_grad():
        feats = teacher.neck(teacher.backbone(data['inputs']))
        outs = teacher.bbox_head(feats)[0]
    for level in range(3):
        conn = TeacherHeadConnector('YOLOV3Head', level, 96, 96)
        conn.bind_teacher(teacher)
        with torch.no_grad():
            torch.testing.assert_close(conn(feats[level]), outs[level])
        assert not any(k.startswith('_teacher') for k in conn.state_dict())
        assert list(conn.state_dict()) == []  # no adapter when widths agree


def test_m1_xhead_trains_student_not_teacher(m1_xhead):
    algo = m1_xhead
    algo.train()
    optim = OptimWrapper(torch.optim.SGD(
        [p for p in algo.parameters() if p.requires_grad], lr=1e-3),
        clip_grad=dict(max_norm=10.0))
    teacher0 = {k: v.detach().clone() for k, v in algo.teacher.state_dict().items()}
    adapter0 = algo.distiller.connectors['xhead0'].adapter.weight.detach().clone()
    log = algo.train_step(raw_det_batch(n=1, size=96, seed=1), optim)
    cross = {k: float(v) for k, v in log.items() if k.startswith('distill.loss_x')}
    assert len(cross) == 6 and all(torch.isfinite(torch.tensor(v)) for v in cross.values())
    assert sum(cross.values()) > 0
    assert not torch.equal(algo.distiller.connectors['xhead0'].adapter.weight, adapter0)
    for k, v in algo.teacher.state_dict().items():
        assert torch.equal(v, teacher0[k]), k
    # the teacher's parameters are not in the connectors' (nor the optimizer's) set
    teacher_ids = {id(p) for p in algo.teacher.parameters()}
    assert not teacher_ids & {id(p) for p in algo.distiller.connectors.parameters()}


def test_m2_xhead_config_builds_and_binds():
    algo = build(Config.fromfile(XHEAD['M2']))
    conn = algo.distiller.connectors['xhead2']
    assert conn.__dict__['_teacher_head'] is algo.teacher.bbox_head


@pytest.mark.parametrize('kwargs,field', [
    (dict(head_type='RTMDetHead', level=0, in_channel=8, out_channel=8), 'head_type'),
    (dict(head_type='YOLOV3Head', level=-1, in_channel=8, out_channel=8), 'level'),
    (dict(head_type='YOLOV3Head', level=0, in_channel=0, out_channel=8), 'in_channel'),
    (dict(head_type='RetinaHead', level=0, in_channel=8, out_channel=8, output='box'),
     'output'),
])
def test_bad_settings_name_the_field(kwargs, field):
    from kd_plugins.models.connectors import TeacherHeadConnector
    with pytest.raises(ValueError, match=f'TeacherHeadConnector.{field}'):
        TeacherHeadConnector(**kwargs)


def test_wrong_teacher_head_or_level_fails_at_build():
    from kd_plugins.models.utils.config_checks import DistillConfigError
    cfg = Config.fromfile(XHEAD['M1'])
    cfg.model.distiller.connectors.xhead0.level = 3
    with pytest.raises(DistillConfigError, match=r'connectors.xhead0.*level: 3.*3 levels'):
        build(cfg)
    cfg = Config.fromfile(XHEAD['M1'])
    cfg.model.distiller.connectors.xhead0.head_type = 'RetinaHead'
    with pytest.raises(DistillConfigError, match=r"xhead0.*'RetinaHead'.*YOLOV3Head"):
        build(cfg)


def test_unbound_connector_says_how_to_bind():
    from kd_plugins.models.connectors import TeacherHeadConnector
    conn = TeacherHeadConnector('YOLOV3Head', 0, 8, 16)
    with pytest.raises(RuntimeError, match='bind_teacher'):
        conn(torch.zeros(1, 8, 4, 4))


@pytest.mark.parametrize('head_type', ['RetinaHead', 'GFLHead'])
def test_two_output_heads_give_the_asked_map_of_their_level(head_type):
    """RetinaNet / GFL: with no adaptation, the connector returns exactly the class or
    box map of that level of the head's own forward (GFL with that level's scale)."""
    from mmdet.registry import MODELS as DET
    from mmengine.registry import init_default_scope

    from kd_plugins.models.connectors import TeacherHeadConnector
    init_default_scope('mmdet')
    torch.manual_seed(0)
    anchors = dict(type='AnchorGenerator', ratios=[1.0], octave_base_scale=8,
                   scales_per_octave=1, strides=[8, 16])
    extra = dict(type='RetinaHead') if head_type == 'RetinaHead' else dict(
        type='GFLHead', reg_max=4, loss_cls=dict(type='QualityFocalLoss', beta=2.0,
                                                 loss_weight=1.0))
    head = DET.build(dict(extra, num_classes=3, in_channels=8, feat_channels=8,
                          norm_cfg=dict(type='GN', num_groups=4, requires_grad=True),
                          stacked_convs=1, anchor_generator=anchors)).eval()
    if head_type == 'GFLHead':
        with torch.no_grad():
            head.scales[1].scale.fill_(2.5)  # a level-specific scale must be used
    teacher = torch.nn.Module()
    teacher.bbox_head = head
    feats = (torch.randn(1, 8, 8, 8), torch.randn(1, 8, 4, 4))
    with torch.no_grad():
        cls_maps, reg_maps = head(feats)
        for level in range(2):
            for output, want in (('cls', cls_maps[level]), ('reg', reg_maps[level])):
                conn = TeacherHeadConnector(head_type, level, 8, 8, output=output)
                conn.bind_teacher(teacher)
                torch.testing.assert_close(conn(feats[level]), want)
                assert conn.declared_out_channels == want.shape[1]
