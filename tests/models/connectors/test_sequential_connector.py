"""SequentialConnector: connectors applied in order, built from configs or modules."""
import pytest
import torch
from mmrazor.registry import MODELS

import kd_plugins  # noqa: F401


@pytest.fixture(autouse=True)
def mmdet_default_scope():
    """As in a detection config: the default scope is mmdet, not mmrazor."""
    from mmengine.registry import init_default_scope
    init_default_scope('mmdet')


def build(cfg):
    return MODELS.build({'_scope_': 'mmrazor', **cfg})


def conv(cin, cout):
    return dict(type='ConvModuleConnector', in_channel=cin, out_channel=cout,
                kernel_size=1, norm_cfg=None, act_cfg=None)


def test_applies_connectors_in_order():
    chain = build(dict(type='SequentialConnector', connectors=[conv(4, 8),
                                                                     conv(8, 2)]))
    x = torch.randn(2, 4, 5, 5)
    y = chain(x)
    assert y.shape == (2, 2, 5, 5)
    first, second = chain.connectors
    torch.testing.assert_close(y, second(first(x)))
    y.sum().backward()
    assert all(p.grad is not None for p in chain.parameters())


def test_narrow_student_into_fbkd_connector():
    chain = build(dict(
        type='SequentialConnector',
        connectors=[conv(6, 16), dict(type='FBKDStudentConnector', in_channels=16,
                                      reduction=4, mode='dot_product')]))
    out = chain(torch.randn(2, 6, 4, 4))
    assert isinstance(out, tuple) and out[-1].shape == (2, 16, 4, 4)


@pytest.mark.parametrize('bad', [[], None, 'ConvModuleConnector'])
def test_needs_a_list_of_connectors(bad):
    with pytest.raises(ValueError, match='SequentialConnector.connectors'):
        build(dict(type='SequentialConnector', connectors=bad))
