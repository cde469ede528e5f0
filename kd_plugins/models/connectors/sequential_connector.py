"""Connectors applied one after another, so one loss input can pass through several.

MMRazor allows one connector per loss input. Some of its connectors assume the student
already has the teacher's width (e.g. ``FBKDStudentConnector`` works on ``in_channels``
both ways); for a narrower student an adaptation layer must come first. This connector
chains them: the output of each is the input of the next.

Config::

    connectors=dict(neck0_s=dict(
        type='SequentialConnector',
        connectors=[
            dict(type='ConvModuleConnector', in_channel=24, out_channel=96,
                 kernel_size=1, norm_cfg=None, act_cfg=None),
            dict(type='FBKDStudentConnector', in_channels=96, mode='dot_product'),
        ]))
"""
from typing import Dict, List, Optional

import torch
from mmrazor.models.architectures.connectors.base_connector import BaseConnector
from mmrazor.registry import MODELS
from torch import nn


@MODELS.register_module()
class SequentialConnector(BaseConnector):
    """Apply ``connectors`` in order.

    Args:
        connectors (list[dict]): connector configs (any MMRazor connector); at least one.
        init_cfg (dict, optional): initialisation config.
    """

    def __init__(self, connectors: List[Dict], init_cfg: Optional[Dict] = None):
        super().__init__(init_cfg)
        if not isinstance(connectors, (list, tuple)) or not connectors:
            raise ValueError('SequentialConnector.connectors must be a non-empty list '
                             f'of connector configs, got {connectors!r}')
        # children are MMRazor connectors whatever the default scope is (mmdet in a
        # detection config)
        self.connectors = nn.ModuleList(
            c if isinstance(c, nn.Module) else MODELS.build({'_scope_': 'mmrazor', **c})
            for c in connectors)

    def forward_train(self, feature: torch.Tensor):
        for connector in self.connectors:
            feature = connector(feature)
        return feature
