"""Probe a model config: build the model, run one batch shaped like the data through it
and list the feature levels a distillation config can record and pair (issue 22).

A *level* is what an MMRazor ``ModuleOutputs`` recorder would read: a module's output,
or one element (``data_idx``) of a module that returns a tuple. The probe finds

- ``backbone`` levels: the output of every direct child of the backbone (and of every
  element of a child ``ModuleList`` of stages) that returns a 4-D
  feature map; for each spatial size the *last* such module is kept, i.e. the end of the
  stage at each stride (``backbone.layer3``, ``backbone.stages.2``, ...), whatever the
  backbone's ``out_indices``;
- ``outputs``: each 4-D element of the backbone's own output (what the neck reads:
  the stages of ``out_indices``), recorded as elements ``data_idx`` of ``backbone``;
- ``neck`` levels: each 4-D element of the neck's output (FPN / YOLOv3 neck levels), or
  the pooled vector of a classifier's ``GlobalAveragePooling`` (part ``pooled``);
- ``embedding``: an embedder's ``head.fc`` (kd_plugins' ``EmbeddingHead``);
  ``logits``: a classifier's ``head.fc`` (``LinearClsHead``).

Shapes are per sample: ``(C, H, W)`` or ``(C, )``. The batch is zeros of ``(2, 3, H,
W)``; ``input_size`` defaults to the size the config's test pipeline resizes or crops
to (``input_size_of``).

Config files are local paths or ``package::path`` (``mmdet::yolo/yolov3_mobilenetv2_
8xb24-ms-416-300e_coco.py``: the package's own config, read from its installed copy;
nothing downloads).

Example::

    from kd_plugins.autowire import load_config, probe
    levels = probe(load_config('mmdet::yolo/yolov3_mobilenetv2_8xb24-ms-416-300e_coco.py'),
                   input_size=(320, 320))
"""
import os.path as osp
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope
from torch import nn

TASKS = {'mmdet': 'detection', 'mmseg': 'segmentation', 'mmpretrain': 'classification'}


class AutowireError(ValueError):
    """A teacher / student pair or an argument the config writer cannot use; the
    message names the argument and what was expected."""


@dataclass(frozen=True)
class Level:
    """One recordable feature: ``source`` (module name) and ``index`` (``data_idx`` in
    a tuple output, None for a tensor), ``part`` (``backbone`` / ``neck`` / ``pooled``
    / ``embedding`` / ``logits``) and the per-sample ``shape``."""
    source: str
    index: Optional[int]
    part: str
    shape: Tuple[int, ...]

    @property
    def channels(self) -> int:
        return self.shape[0]

    @property
    def size(self) -> Tuple[int, ...]:
        """Spatial size ``(H, W)``; ``()`` for a vector."""
        return tuple(self.shape[1:])

    def describe(self) -> str:
        where = self.source + ('' if self.index is None else f'[{self.index}]')
        return f'{where} {"x".join(str(s) for s in self.shape)}'


def load_config(spec: str, argument: str = 'config') -> Config:
    """A local config file, or ``package::path`` of an installed OpenMMLab package."""
    if not isinstance(spec, str) or not spec:
        raise AutowireError(f'{argument}: a config file path or package::path, got '
                            f'{spec!r}')
    if '::' in spec:
        from mmengine.hub import get_config
        try:
            return get_config(spec, pretrained=False)
        except Exception as err:  # noqa: BLE001 - mmengine raises several kinds
            raise AutowireError(f'{argument}: {spec!r} is no config of an installed '
                                f'package ({err})') from None
    if not osp.isfile(spec):
        raise AutowireError(f'{argument}: config file {spec!r} not found')
    return Config.fromfile(spec)


def scope_of(cfg: Config, argument: str = 'config') -> str:
    """The config's OpenMMLab package (``default_scope``), one of :data:`TASKS`."""
    scope = cfg.get('default_scope', None) or cfg.get('model', {}).get('_scope_')
    if scope not in TASKS:
        raise AutowireError(f'{argument}: default_scope {scope!r} is not one of '
                            f'{sorted(TASKS)} (a detector, segmentor or classifier / '
                            'embedder config)')
    return scope


def task_of(cfg: Config, argument: str = 'config') -> str:
    """``detection`` / ``segmentation`` / ``classification``, or ``retrieval`` for a
    classifier config with kd_plugins' ``EmbeddingHead``."""
    task = TASKS[scope_of(cfg, argument)]
    head = (cfg.model.get('head') or {}) if isinstance(cfg.get('model'), dict) else {}
    if task == 'classification' and str(head.get('type', '')).endswith('EmbeddingHead'):
        return 'retrieval'
    return task


def _pipeline_size(pipeline) -> Optional[Tuple[int, int]]:
    for step in reversed(list(pipeline or [])):
        for key in ('crop_size', 'scale', 'img_scale', 'size'):
            value = step.get(key) if isinstance(step, dict) else None
            if isinstance(value, int):
                return value, value
            if isinstance(value, (list, tuple)) and len(value) == 2 and \
                    all(isinstance(v, int) for v in value):
                # mmdet / mmseg scales are (w, h)
                return (value[1], value[0]) if key in ('scale', 'img_scale') else \
                    tuple(value)
    return None


def input_size_of(cfg: Config) -> Tuple[int, int]:
    """``(H, W)`` the config's test (else train) pipeline resizes or crops to; 224 x 224
    when it names none."""
    for loader in ('test_dataloader', 'val_dataloader', 'train_dataloader'):
        dataset = (cfg.get(loader) or {}).get('dataset') or {}
        size = _pipeline_size(dataset.get('pipeline'))
        if size is None and isinstance(dataset.get('dataset'), dict):  # wrappers
            size = _pipeline_size(dataset['dataset'].get('pipeline'))
        if size is not None:
            return size
    return 224, 224


def build_model(cfg: Config, argument: str = 'config') -> nn.Module:
    """The config's model, built in its own scope, in eval mode. Its ``init_cfg``
    (pretrained weights) is not applied: only ``init_weights()`` would read it."""
    scope = scope_of(cfg, argument)
    from mmengine.registry import MODELS
    with DefaultScope.overwrite_default_scope(scope):
        model = MODELS.build(cfg.model)
    return model.eval()


def _stage_candidates(backbone: nn.Module) -> List[Tuple[str, nn.Module]]:
    """The backbone's direct children, the elements of a ``ModuleList`` (of stages)
    in its place; a ``Sequential`` stage (``ResLayer``, ...) stays whole."""
    out = []
    for name, child in backbone.named_children():
        if isinstance(child, nn.ModuleList):
            out += [(f'{name}.{i}', c) for i, c in enumerate(child)]
        else:
            out.append((name, child))
    return out


def probe(cfg: Config, input_size: Optional[Sequence[int]] = None,
          argument: str = 'config', model: Optional[nn.Module] = None) -> List[Level]:
    """The recordable levels of the config's model (module docstring); ``model``: the
    config's model when it is built already (``build_model``)."""
    model = build_model(cfg, argument) if model is None else model.eval()
    h, w = tuple(input_size) if input_size is not None else input_size_of(cfg)
    records, hooks = [], []

    def keep(name):
        def hook(_module, _inputs, output):
            records.append((name, output))
        return hook

    backbone = getattr(model, 'backbone', None)
    if backbone is None:
        raise AutowireError(f'{argument}: the model {type(model).__name__} has no '
                            'backbone to record')
    hooks.append(backbone.register_forward_hook(keep('backbone_out')))
    for name, child in _stage_candidates(backbone):
        hooks.append(child.register_forward_hook(keep(f'backbone.{name}')))
    neck = getattr(model, 'neck', None)
    if neck is not None:
        hooks.append(neck.register_forward_hook(keep('neck')))
    try:
        with torch.no_grad():
            model.extract_feat(torch.zeros(2, 3, h, w))
    finally:
        for handle in hooks:
            handle.remove()
    levels = _levels(records)
    fc = getattr(getattr(model, 'head', None), 'fc', None)
    part = dict(retrieval='embedding', classification='logits').get(
        task_of(cfg, argument))
    if part and isinstance(fc, nn.Linear):
        levels.append(Level('head.fc', None, part, (fc.out_features, )))
    return levels


def decode_feature(model: nn.Module, input_size: Sequence[int],
                   argument: str = 'config') -> Tuple[str, int]:
    """``(module name, channels)`` of the feature a segmentor's decode head classifies:
    the last child of ``decode_head`` to run whose output is 4-D with the channels
    ``decode_head.conv_seg`` reads (``decode_head.convs`` of an FCN head,
    ``decode_head.bottleneck`` of ASPP / PSP heads)."""
    head = getattr(model, 'decode_head', None)
    conv_seg = getattr(head, 'conv_seg', None)
    if not isinstance(conv_seg, nn.Conv2d):
        raise AutowireError(f'{argument}: {type(model).__name__} has no decode_head.'
                            'conv_seg (an mmseg EncoderDecoder with a decode head)')
    order, hooks = [], []
    for name, child in head.named_children():
        if name in ('conv_seg', 'dropout') or name.startswith('loss'):
            continue
        hooks.append(child.register_forward_hook(
            lambda _m, _i, out, name=name: order.append((name, out))))
    h, w = tuple(input_size)
    try:
        with torch.no_grad():
            head(model.extract_feat(torch.zeros(2, 3, h, w)))
    finally:
        for handle in hooks:
            handle.remove()
    found = [name for name, out in order if torch.is_tensor(out) and out.dim() == 4
             and out.size(1) == conv_seg.in_channels]
    if not found:
        raise AutowireError(f'{argument}: no child of decode_head outputs the '
                            f'{conv_seg.in_channels} channels conv_seg reads')
    return f'decode_head.{found[-1]}', conv_seg.in_channels


def _elements(source: str, output, parts: dict) -> List[Level]:
    """The levels of a module's (tuple) output: each element of a rank in ``parts``
    (rank -> part), ``data_idx`` its position (None for a plain tensor)."""
    many = isinstance(output, (tuple, list))
    return [Level(source, i if many else None, parts[t.dim()], tuple(t.shape[1:]))
            for i, t in enumerate(output if many else [output])
            if torch.is_tensor(t) and t.dim() in parts]


def _levels(records) -> List[Level]:
    by_size, order, neck, outs = {}, [], [], []
    for name, output in records:
        if name == 'backbone_out':
            outs += _elements('backbone', output, {4: 'outputs'})
            continue
        if name == 'neck':
            neck += _elements('neck', output, {4: 'neck', 2: 'pooled'})
            continue
        if isinstance(output, (tuple, list)):
            output = output[-1] if output else None
        if not torch.is_tensor(output) or output.dim() != 4:
            continue
        size = tuple(output.shape[2:])
        if size not in by_size:
            order.append(size)
        by_size[size] = Level(name, None, 'backbone', tuple(output.shape[1:]))
    return [by_size[s] for s in order] + outs + neck


__all__ = ['AutowireError', 'Level', 'build_model', 'decode_feature', 'input_size_of',
           'load_config', 'probe', 'scope_of', 'task_of']
