"""Channel selection by activation statistics (M5's connector for narrower students).

:class:`ActiveChannelSelector` sits on the teacher side of a loss mapping and passes on
only the teacher's ``num_selected`` most active channels. Activity is the running mean
(exponential, ``momentum``) of each channel's activation energy ``mean_{n,h,w} |F|^p``,
collected in training forwards, so the choice follows the teacher's behaviour on the
training data rather than being fixed at init. Selected channels keep their original
order. Before any statistics exist (the first forward), that forward's own statistics
are used.

Config::

    connectors=dict(t_select=dict(type='ActiveChannelSelector', in_channel=256,
                                  num_selected=64, momentum=0.1))
"""
from typing import Optional

import torch
from mmrazor.models.architectures.connectors.base_connector import BaseConnector
from mmrazor.registry import MODELS

from ..utils.config_checks import check_int, check_number


@MODELS.register_module()
class ActiveChannelSelector(BaseConnector):
    """Keep the ``num_selected`` most active of ``in_channel`` channels.

    Args:
        in_channel (int): channels of the incoming (teacher) feature.
        num_selected (int): channels kept, 1..in_channel (usually the student's width).
        momentum (float): in (0, 1], weight of the newest batch in the running
            activity.
        p (float): > 0, exponent of the activation energy.
        init_cfg (dict, optional): mmengine init config.
    """

    def __init__(self, in_channel: int, num_selected: int, momentum: float = 0.1,
                 p: float = 2.0, init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        check_int(in_channel, 'in_channel', 1)
        check_int(num_selected, 'num_selected', 1)
        if num_selected > in_channel:
            raise ValueError(f'num_selected={num_selected} exceeds the teacher feature\'s '
                             f'in_channel={in_channel}: cannot select more channels '
                             'than the teacher has')
        if not 0 < momentum <= 1:
            raise ValueError(f'momentum must be in (0, 1], got {momentum!r}')
        self.in_channel, self.num_selected = in_channel, num_selected
        self.momentum, self.p = float(momentum), check_number(p, 'p', strict=True)
        self.register_buffer('running_activity', torch.zeros(in_channel))
        self.register_buffer('num_updates', torch.zeros((), dtype=torch.long))

    @property
    def declared_out_channels(self) -> int:
        """The channels it passes on (the build-time channel check reads this)."""
        return self.num_selected

    @torch.no_grad()
    def update(self, feature: torch.Tensor) -> None:
        activity = feature.detach().abs().pow(self.p).mean(dim=(0, 2, 3))
        blended = (1 - self.momentum) * self.running_activity + self.momentum * activity
        # the first update takes the batch's own statistics (no host sync to decide)
        self.running_activity.copy_(torch.where(self.num_updates == 0, activity, blended))
        self.num_updates += 1

    def selected_indices(self) -> torch.Tensor:
        """Indices (ascending) of the ``num_selected`` most active channels."""
        top = torch.topk(self.running_activity, self.num_selected).indices
        return top.sort().values

    def forward_train(self, feature: torch.Tensor) -> torch.Tensor:
        if feature.dim() != 4 or feature.size(1) != self.in_channel:
            raise ValueError(f'ActiveChannelSelector(in_channel={self.in_channel}) got a '
                             f'feature of shape {tuple(feature.shape)}')
        if self.training or int(self.num_updates) == 0:
            self.update(feature)
        return feature.index_select(1, self.selected_indices())
