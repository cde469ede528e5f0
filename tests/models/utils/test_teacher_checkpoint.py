"""Teachers load exactly or not at all (load_teacher_checkpoint and where it is used)."""
import copy
import logging
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config
from torch import nn

from conftest import CWD_CFG, ROOT, cli_options, det_data_options, subprocess_env
from kd_plugins.models.utils import TeacherCheckpointError, load_teacher_checkpoint
from kd_plugins.models.utils import teacher_checkpoint as tc


def small_net(width=4):
    return nn.Sequential(nn.Conv2d(3, width, 3), nn.BatchNorm2d(width), nn.ReLU(),
                         nn.Conv2d(width, 2, 1))


def save(obj, path):
    torch.save(obj, str(path))
    return str(path)


@pytest.fixture
def logged(monkeypatch):
    lines = []
    monkeypatch.setattr(tc, 'print_log',
                        lambda msg, logger=None, level=logging.INFO: lines.append(
                            (level, msg)))
    return lines


def test_exact_checkpoint_loads_every_tensor(tmp_path, logged):
    donor = small_net()
    with torch.no_grad():
        for p in donor.parameters():
            p.add_(torch.randn_like(p))
    donor[1].running_mean.fill_(0.5)
    path = save(dict(state_dict=donor.state_dict(), meta=dict(epoch=3)),
                tmp_path / 'teacher.pth')
    net = small_net()
    diff = load_teacher_checkpoint(net, path)
    assert diff == dict(missing=[], unexpected=[], mismatched=[])
    for k, v in donor.state_dict().items():
        assert torch.equal(net.state_dict()[k], v), k
    assert net._is_init and not logged


def test_ddp_module_prefix_and_bare_state_dicts_load(tmp_path):
    donor = small_net()
    path = save({f'module.{k}': v for k, v in donor.state_dict().items()},
                tmp_path / 'ddp.pth')
    net = small_net()
    load_teacher_checkpoint(net, path)
    assert torch.equal(net[0].weight, donor[0].weight)


def test_checkpoint_of_another_model_fails_naming_file_and_counts(tmp_path):
    other = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.ReLU(),
                          nn.Conv2d(8, 2, 1), nn.Linear(2, 2))
    path = save(dict(state_dict=other.state_dict()), tmp_path / 'other.pth')
    net = small_net()
    before = copy.deepcopy(net.state_dict())
    with pytest.raises(TeacherCheckpointError) as err:
        load_teacher_checkpoint(net, path)
    msg = str(err.value)
    assert 'other.pth' in msg and 'teacher_ckpt' in msg
    # conv 0 / bn 1 / conv 3 weights have 8 channels in the file: 7 tensors mis-shaped
    # (conv0 w+b, bn w+b+mean+var, conv3 w); the Linear's 2 keys are unexpected
    assert '0 of the model\'s 9 keys missing' in msg
    assert '2 of the file\'s 11 keys unexpected' in msg and '4.weight' in msg
    assert '7 with another shape' in msg
    assert '0.weight: file (8, 3, 3, 3) vs model (4, 3, 3, 3)' in msg
    assert 'teacher_strict=False' in msg
    assert 'export_student' not in msg  # not a distillation checkpoint
    for k, v in before.items():  # nothing was loaded
        assert torch.equal(net.state_dict()[k], v)


def test_distillation_checkpoint_gets_the_export_hint(tmp_path):
    net = small_net()
    state = {f'architecture.{k}': v for k, v in small_net(2).state_dict().items()}
    state.update({f'teacher.{k}': v for k, v in net.state_dict().items()})
    path = save(dict(state_dict=state), tmp_path / 'epoch_12.pth')
    with pytest.raises(TeacherCheckpointError,
                       match=r"distillation checkpoint \(9 keys under 'architecture\.', "
                             r"9 keys under 'teacher\.'\).*tools/export_student\.py"):
        load_teacher_checkpoint(net, path)


def test_opt_in_partial_loading_loads_what_fits_and_logs_counts(tmp_path, logged):
    donor = small_net()
    state = donor.state_dict()
    state['3.weight'] = torch.zeros(2, 9, 1, 1)  # another shape
    del state['3.bias']                           # missing
    state['extra.weight'] = torch.zeros(1)        # unexpected
    path = save(dict(state_dict=state), tmp_path / 'partial.pth')
    net = small_net()
    kept = net[3].weight.clone()
    diff = load_teacher_checkpoint(net, path, strict=False)
    assert diff['missing'] == ['3.bias'] and diff['unexpected'] == ['extra.weight']
    assert [k for k, _, _ in diff['mismatched']] == ['3.weight']
    assert torch.equal(net[0].weight, donor[0].weight)  # what fits is loaded
    assert torch.equal(net[3].weight, kept)             # what does not is left alone
    (level, msg), = logged
    assert level == logging.WARNING
    assert 'teacher_strict=False' in msg and 'partial.pth' in msg
    assert '1 of the model\'s 9 keys missing' in msg and '1 with another shape' in msg


def test_a_file_that_holds_no_weights_is_named(tmp_path):
    path = save([1, 2], tmp_path / 'list.pth')
    with pytest.raises(TeacherCheckpointError,
                       match=r"list\.pth.*not a model checkpoint"):
        load_teacher_checkpoint(small_net(), path)


def test_teacher_strict_must_be_a_bool():
    from kd_plugins.models.utils import DistillConfigError
    model = Config.fromfile(CWD_CFG).model.to_dict()
    model['teacher_strict'] = 'no'
    from mmrazor.registry import MODELS
    with pytest.raises(DistillConfigError, match="teacher_strict must be True or False"):
        MODELS.build(model)


# the algorithms ---------------------------------------------------------------------
def build_cwd(**overrides):
    """The toy CWD algorithm, built in mmdet's scope (left as it was afterwards)."""
    from mmengine.registry import DefaultScope
    from mmrazor.registry import MODELS
    model = copy.deepcopy(Config.fromfile(CWD_CFG).model.to_dict())
    model.update(overrides)
    with DefaultScope.overwrite_default_scope('mmdet'):
        return MODELS.build(model)


def test_preprocess_aware_distill_refuses_its_own_distillation_checkpoint(tmp_path):
    algo = build_cwd()
    path = save(dict(state_dict=algo.state_dict()), tmp_path / 'cwd_epoch_8.pth')
    with pytest.raises(TeacherCheckpointError,
                       match=r"teacher_ckpt: checkpoint .*cwd_epoch_8\.pth.*does not "
                             r"fit the teacher YOLOV3.*under 'architecture\.'"
                             r".*export_student"):
        build_cwd(teacher_ckpt=path)
    # opt-in: nothing of it fits (every key is prefixed), and the build says so
    partial = build_cwd(teacher_ckpt=path, teacher_strict=False)
    assert partial.teacher._is_init


def test_preprocess_aware_distill_loads_the_teachers_checkpoint(tmp_path):
    donor = build_cwd().teacher
    with torch.no_grad():
        for p in donor.parameters():
            p.add_(1.0)
    path = save(dict(state_dict=donor.state_dict()), tmp_path / 'teacher.pth')
    algo = build_cwd(teacher_ckpt=path)
    for (k, v), w in zip(donor.state_dict().items(), algo.teacher.state_dict().values()):
        assert torch.equal(v, w), k


def test_mmrazor_single_teacher_distill_loads_strictly(tmp_path):
    """MMRazor's own algorithm, used directly, gets the same check."""
    from mmengine.registry import DefaultScope
    from mmrazor.registry import MODELS
    algo = build_cwd()
    path = save(dict(state_dict=algo.state_dict()), tmp_path / 'distill.pth')
    good = save(dict(state_dict=algo.teacher.state_dict()), tmp_path / 'teacher.pth')
    distiller = Config.fromfile(CWD_CFG).model.distiller.to_dict()
    with DefaultScope.overwrite_default_scope('mmrazor'):
        with pytest.raises(TeacherCheckpointError,
                           match=r'distill\.pth.*export_student'):
            MODELS.build(dict(type='SingleTeacherDistill', architecture=algo.student,
                              teacher=algo.teacher, distiller=distiller,
                              teacher_ckpt=path))
        built = MODELS.build(dict(type='SingleTeacherDistill', architecture=algo.student,
                                  teacher=copy.deepcopy(algo.teacher),
                                  distiller=distiller, teacher_ckpt=good))
    assert built.teacher._is_init


def test_train_refuses_a_distillation_checkpoint_as_teacher(tmp_path, toy_det_root):
    """The user's mistake end to end: tools/train.py --teacher-ckpt <a KD checkpoint>."""
    algo = build_cwd()
    path = save(dict(state_dict=algo.state_dict(), meta=dict()),
                tmp_path / 'kd_epoch_8.pth')
    proc = subprocess.run(
        [sys.executable, 'tools/train.py', CWD_CFG, '--work-dir', str(tmp_path / 'w'),
         '--max-iters', '1', '--teacher-ckpt', path,
         *cli_options(det_data_options(toy_det_root))],
        cwd=ROOT, env=subprocess_env(), capture_output=True, text=True, timeout=600)
    assert proc.returncode != 0
    err = proc.stderr[-4000:]
    assert 'TeacherCheckpointError' in err and 'kd_epoch_8.pth' in err, err
    assert 'export_student' in err
    assert 'Epoch(train)' not in proc.stdout + proc.stderr
