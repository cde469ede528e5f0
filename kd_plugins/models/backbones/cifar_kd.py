"""The CIFAR backbones of the knowledge-distillation comparison tables, as mmpretrain
backbones.

KD papers on CIFAR-100 compare on a fixed set of small networks (the teacher/student
pairs of the CRD benchmark, Tian et al., ICLR 2020): ``resnet32x4 -> resnet8x4``,
``WRN-40-2 -> WRN-16-2``, ``resnet56 -> resnet20`` ... mmpretrain ships ImageNet-style
ResNets and ``ResNet_CIFAR`` (ResNet-18/34/50 with a 3x3 stem, use it for those), not
these. Both classes here are registered in mmpretrain's ``MODELS`` and return the
feature map of each requested stage, like mmpretrain's own backbones, so recorders can
read any stage and ``GlobalAveragePooling`` + ``LinearClsHead`` finish the classifier.

- :class:`CifarKDResNet`: 3x3 stem, three stages of basic blocks (strides 1, 2, 2),
  ``(depth - 2) / 6`` blocks per stage. ``resnetN``: widths 16/16/32/64;
  ``resnetNx4``: 32/64/128/256 (stem / stages 1-3).
- :class:`WideResNet`: WRN-depth-k (Zagoruyko & Komodakis, 2016): 3x3 stem of 16
  channels, three stages of pre-activation blocks of width 16k / 32k / 64k, ``(depth -
  4) / 6`` blocks per stage, a final BN-ReLU (part of the last stage's output).

Config::

    model = dict(type='ImageClassifier',
                 backbone=dict(type='CifarKDResNet', arch='resnet8x4'),
                 neck=dict(type='GlobalAveragePooling'),
                 head=dict(type='LinearClsHead', num_classes=100, in_channels=256))
"""
from typing import Sequence

import torch.nn.functional as F
from mmcv.cnn import build_norm_layer
from mmengine.model import BaseModule
from mmpretrain.registry import MODELS
from torch import nn


def conv3x3(in_ch, out_ch, stride=1):
    return nn.Conv2d(in_ch, out_ch, 3, stride=stride, padding=1, bias=False)


def check_out_indices(out_indices, num_stages=3):
    if isinstance(out_indices, int):
        out_indices = (out_indices, )
    bad = [i for i in out_indices
           if isinstance(i, bool) or not isinstance(i, int) or
           not -num_stages <= i < num_stages]
    if bad or not out_indices:
        raise ValueError(f'out_indices: stage indices must be in [-{num_stages}, '
                         f'{num_stages - 1}] (the network has {num_stages} stages), got '
                         f'{out_indices!r}')
    return tuple(i % num_stages for i in out_indices)


class BasicBlock(nn.Module):
    """conv-BN-ReLU-conv-BN plus a (projected) shortcut, then ReLU."""

    def __init__(self, in_ch, out_ch, stride, norm_cfg):
        super().__init__()
        self.conv1 = conv3x3(in_ch, out_ch, stride)
        self.bn1 = build_norm_layer(norm_cfg, out_ch)[1]
        self.conv2 = conv3x3(out_ch, out_ch)
        self.bn2 = build_norm_layer(norm_cfg, out_ch)[1]
        self.shortcut = None
        if stride != 1 or in_ch != out_ch:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_ch, out_ch, 1, stride=stride, bias=False),
                build_norm_layer(norm_cfg, out_ch)[1])

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        identity = x if self.shortcut is None else self.shortcut(x)
        return F.relu(out + identity)


class PreActBlock(nn.Module):
    """WRN block: BN-ReLU-conv-BN-ReLU-(dropout)-conv plus a shortcut (projected from
    the pre-activated input when the shape changes)."""

    def __init__(self, in_ch, out_ch, stride, norm_cfg, drop_rate=0.0):
        super().__init__()
        self.bn1 = build_norm_layer(norm_cfg, in_ch)[1]
        self.conv1 = conv3x3(in_ch, out_ch, stride)
        self.bn2 = build_norm_layer(norm_cfg, out_ch)[1]
        self.conv2 = conv3x3(out_ch, out_ch)
        self.drop_rate = drop_rate
        self.shortcut = None
        if stride != 1 or in_ch != out_ch:
            self.shortcut = nn.Conv2d(in_ch, out_ch, 1, stride=stride, bias=False)

    def forward(self, x):
        pre = F.relu(self.bn1(x))
        out = F.relu(self.bn2(self.conv1(pre)))
        if self.drop_rate > 0:
            out = F.dropout(out, p=self.drop_rate, training=self.training)
        out = self.conv2(out)
        return out + (x if self.shortcut is None else self.shortcut(pre))


def check_frozen_stages(frozen_stages, num_stages=3):
    if isinstance(frozen_stages, bool) or not isinstance(frozen_stages, int) or \
            not -1 <= frozen_stages <= num_stages:
        raise ValueError(f'frozen_stages: -1 (nothing frozen), 0 (the stem) or 1-'
                         f'{num_stages} (the stem and that many stages), got '
                         f'{frozen_stages!r}')
    return frozen_stages


class _CifarBackbone(BaseModule):
    """Stem, three stages, stage outputs at ``out_indices``; the stem and the first
    ``frozen_stages`` stages frozen (no gradient, BN statistics fixed: eval mode
    whatever ``train()`` says)."""

    frozen_stages = -1

    def frozen_modules(self) -> list:
        """The stem and the first ``frozen_stages`` stages (with the final BN of a WRN
        when every stage is frozen); empty for ``frozen_stages=-1``."""
        if self.frozen_stages < 0:
            return []
        mods = [m for m in (self.conv1, getattr(self, 'bn1', None)) if m is not None]
        mods += list(self.stages[:self.frozen_stages])
        if self.frozen_stages == len(self.stages) and hasattr(self, 'bn_final'):
            mods.append(self.bn_final)
        return mods

    def _freeze(self, frozen_stages):
        self.frozen_stages = check_frozen_stages(frozen_stages, len(self.stages))
        for module in self.frozen_modules():
            module.eval()
            for param in module.parameters():
                param.requires_grad = False

    def train(self, mode: bool = True):
        super().train(mode)
        for module in self.frozen_modules():
            module.eval()
        return self

    def _build_stages(self, block, widths, num_blocks, **block_kwargs):
        self.stages = nn.ModuleList()
        in_ch = widths[0]
        for i, out_ch in enumerate(widths[1:]):
            blocks = [block(in_ch if j == 0 else out_ch, out_ch,
                            (1 if i == 0 else 2) if j == 0 else 1, **block_kwargs)
                      for j in range(num_blocks)]
            self.stages.append(nn.Sequential(*blocks))
            in_ch = out_ch
        self.stage_channels = tuple(widths[1:])

    def stem_forward(self, x):
        return x

    def last_stage_post(self, x):
        return x

    def forward(self, x):
        x = self.stem_forward(x)
        outs = []
        for i, stage in enumerate(self.stages):
            x = stage(x)
            if i == len(self.stages) - 1:
                x = self.last_stage_post(x)
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)


@MODELS.register_module()
class CifarKDResNet(_CifarBackbone):
    """ResNet of the CIFAR KD benchmarks (``resnet8`` ... ``resnet110``, ``resnet8x4``,
    ``resnet32x4``) and ``resnet8x0.5`` (resnet8 at half width: 8 / 16 / 32 channels).

    Args:
        arch (str): one of :attr:`arch_settings`.
        out_indices (Sequence[int]): stages whose output is returned (0-2; default the
            last).
        norm_cfg (dict): normalisation layer config.
        frozen_stages (int): -1 (default) trains everything; 0 freezes the stem, k the
            stem and stages 1..k (no gradient, BN in eval mode).
        init_cfg (dict, optional): mmengine init config.
    """
    arch_settings = {
        **{f'resnet{d}': (d, (16, 16, 32, 64)) for d in (8, 14, 20, 32, 44, 56, 110)},
        'resnet8x0.5': (8, (8, 8, 16, 32)),
        'resnet8x4': (8, (32, 64, 128, 256)),
        'resnet32x4': (32, (32, 64, 128, 256)),
    }

    def __init__(self, arch: str = 'resnet8x4', out_indices: Sequence[int] = (2, ),
                 norm_cfg: dict = dict(type='BN'), frozen_stages: int = -1,
                 init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        if arch not in self.arch_settings:
            raise ValueError(f'arch: unknown CIFAR ResNet {arch!r}; choose from '
                             f'{sorted(self.arch_settings)}')
        depth, widths = self.arch_settings[arch]
        self.arch = arch
        self.out_indices = check_out_indices(out_indices)
        self.conv1 = conv3x3(3, widths[0])
        self.bn1 = build_norm_layer(norm_cfg, widths[0])[1]
        self._build_stages(BasicBlock, widths, (depth - 2) // 6, norm_cfg=norm_cfg)
        self._freeze(frozen_stages)

    def stem_forward(self, x):
        return F.relu(self.bn1(self.conv1(x)))


@MODELS.register_module()
class WideResNet(_CifarBackbone):
    """Wide ResNet WRN-``depth``-``widen_factor`` for 32 px inputs.

    Args:
        depth (int): total depth, ``6n + 4`` (16, 22, 28, 40 ...).
        widen_factor (int): width multiplier ``k`` (stages 16k / 32k / 64k).
        drop_rate (float): dropout between the two convs of a block.
        out_indices (Sequence[int]): stages whose output is returned (0-2; the last one
            includes the final BN-ReLU).
        norm_cfg (dict): normalisation layer config.
        frozen_stages (int): -1 (default) trains everything; 0 freezes the stem, k the
            stem and stages 1..k (3: with the final BN); no gradient, BN in eval mode.
        init_cfg (dict, optional): mmengine init config.
    """

    def __init__(self, depth: int = 16, widen_factor: int = 2, drop_rate: float = 0.0,
                 out_indices: Sequence[int] = (2, ), norm_cfg: dict = dict(type='BN'),
                 frozen_stages: int = -1, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        if isinstance(depth, bool) or not isinstance(depth, int) or depth < 10 or \
                (depth - 4) % 6:
            raise ValueError(f'depth: a WRN depth is 6n + 4 with n >= 1 (10, 16, 22, '
                             f'28, 40 ...), got {depth!r}')
        if isinstance(widen_factor, bool) or not isinstance(widen_factor, int) or \
                widen_factor < 1:
            raise ValueError(f'widen_factor must be an integer >= 1, got '
                             f'{widen_factor!r}')
        k = widen_factor
        widths = (16, 16 * k, 32 * k, 64 * k)
        self.depth, self.widen_factor = depth, k
        self.out_indices = check_out_indices(out_indices)
        self.conv1 = conv3x3(3, widths[0])
        self._build_stages(PreActBlock, widths, (depth - 4) // 6, norm_cfg=norm_cfg,
                           drop_rate=float(drop_rate))
        self.bn_final = build_norm_layer(norm_cfg, widths[-1])[1]
        self._freeze(frozen_stages)

    def stem_forward(self, x):
        return self.conv1(x)

    def last_stage_post(self, x):
        return F.relu(self.bn_final(x))
