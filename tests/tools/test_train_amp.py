"""tools/train.py --amp / --amp-dtype: every optimizer wrapper of the config becomes an
AmpOptimWrapper of the asked dtype, also in a per-module dict (data-free algorithms:
student + generators), where a top-level ``type`` would break the constructor."""
import os.path as osp
import sys

import pytest

from conftest import CONFIGS, CWD_CFG, ROOT

sys.path.insert(0, osp.join(ROOT, 'tools'))
from _common import read_config, use_amp  # noqa: E402


def test_amp_on_one_optimizer_wrapper():
    cfg = use_amp(read_config(CWD_CFG), 'bfloat16')
    assert cfg.optim_wrapper.type == 'AmpOptimWrapper'
    assert cfg.optim_wrapper.dtype == 'bfloat16'
    assert 'optimizer' in cfg.optim_wrapper


@pytest.mark.parametrize('rel', ['dual_generator/m7_wrn-16-2_resnet8_toy-cls.py',
                                 'mmrazor_dfad/dfad_wrn-16-2_resnet8_toy-cls.py'])
def test_amp_on_each_wrapper_of_a_per_module_dict(rel):
    cfg = use_amp(read_config(osp.join(CONFIGS, rel)), 'float16')
    ow = cfg.optim_wrapper
    assert 'type' not in ow and ow.constructor.endswith('SeparateOptimWrapperConstructor')
    modules = [k for k, v in ow.items() if isinstance(v, dict) and 'optimizer' in v]
    assert len(modules) >= 2
    for k in modules:
        assert ow[k].type == 'AmpOptimWrapper' and ow[k].dtype == 'float16'
        assert ow[k].loss_scale == 'dynamic'


def test_amp_dtype_is_checked():
    with pytest.raises(SystemExit, match="AMP dtype must be one of .*'int8'"):
        use_amp(read_config(CWD_CFG), 'int8')
