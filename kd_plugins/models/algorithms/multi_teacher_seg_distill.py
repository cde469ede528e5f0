"""Boundary-aware multi-teacher distillation for semantic segmentation (method M6).

MMRazor has single-teacher and data-free algorithms only. This one takes any number of
mmseg teachers, each with its own checkpoint and its own data preprocessing (a teacher
trained with pixels / 255 sees pixels / 255, one trained with ImageNet mean / std sees
that), all frozen. Per training batch:

* pixel term: :class:`BoundaryAwareMultiTeacherKDLoss` on the student's logits and every
  teacher's: per-image teacher weights from the teacher's measured quality on that image
  (label agreement, or confidence where an image has no labels), pixels within
  ``band_width`` of a label boundary weighted up;
* feature term (optional, ``feature_loss_weight > 0``): the student's feature (the output
  of module ``student_feature``) goes through one 1x1-conv adaptation layer per teacher
  (student channels -> that teacher's channels, built from a probe forward), is resized
  to the teacher feature's size and matched to it: the squared distance of the
  channel-normalised vectors, averaged over pixels, each teacher weighted per image with
  the same weights as the pixel term. Teachers without a ``feature`` take no part in it.

Config::

    model = dict(
        type='BoundaryAwareMultiTeacherDistill',
        architecture=student,                     # an mmseg EncoderDecoder
        teachers=dict(
            unet=dict(model=unet_teacher, ckpt_path=None, feature='decode_head.convs'),
            dlv3=dict(model=dlv3_teacher, ckpt_path=None,
                      feature='decode_head.bottleneck')),
        distill_loss=dict(type='BoundaryAwareMultiTeacherKDLoss', tau=1.0, band_width=3,
                          boundary_weight=2.0, quality='auto', loss_weight=1.0),
        student_feature='decode_head.convs', feature_loss_weight=1.0)

Checkpoints are set per teacher: ``--cfg-options model.teachers.unet.ckpt_path=U.pth``.
The student's checkpoint keys start with ``architecture.`` (tools/export_student.py).
"""
import difflib
from typing import Dict, List, Optional, Tuple

import torch
import torch.nn.functional as F
from mmrazor.models.algorithms.base import BaseAlgorithm
from mmrazor.models.task_modules import RecorderManager
from mmrazor.models.utils import add_prefix
from mmrazor.registry import MODELS
from torch import nn

from ..utils.build import build_codebase_model
from ..utils.config_checks import (DistillConfigError, check_bool, check_num_classes,
                                   check_number, check_teacher_ckpt)
from ..utils.teacher_checkpoint import load_teacher_checkpoint
from .preprocess_aware_distill import preprocess_signature, renormalize

TEACHER_KEYS = ('model', 'ckpt_path', 'feature')


def seg_labels(data_samples) -> Optional[torch.Tensor]:
    """``(N, H, W)`` long labels of a batch, or None when a sample has none."""
    if not data_samples or any('gt_sem_seg' not in s for s in data_samples):
        return None
    return torch.stack([s.gt_sem_seg.data.squeeze(0) for s in data_samples]).long()


def channel_normalize(x: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    """``x / max(|x|, eps)`` over dim 1, as ``F.normalize(x, dim=1)`` (the same values to
    float rounding); written out because ``F.normalize``'s vector norm took ~3x longer,
    forward and backward, on (8, 32, 64, 64) on 2 CPU cores (torch 2.x)."""
    return x / x.pow(2).sum(1, keepdim=True).sqrt().clamp_min(eps)


def normalized_feature_distance(student: torch.Tensor,
                                teacher: torch.Tensor) -> torch.Tensor:
    """``(N,)``: mean over pixels of ``|s/|s| - t/|t||^2`` (channel vectors), the student
    feature resized to the teacher's."""
    student = resize_to(student, teacher.shape[-2:])
    diff = channel_normalize(student) - channel_normalize(teacher.detach())
    return diff.pow(2).sum(1).flatten(1).mean(1)


def resize_to(x: torch.Tensor, size) -> torch.Tensor:
    """``x`` bilinearly resized to ``size`` (itself when it has that size)."""
    if x.shape[-2:] == tuple(size):
        return x
    return F.interpolate(x, size=size, mode='bilinear', align_corners=False)


@MODELS.register_module()
class BoundaryAwareMultiTeacherDistill(BaseAlgorithm):
    """Several frozen segmentation teachers -> one student (M6).

    Args:
        architecture (dict | BaseModel): the student (mmseg segmentor).
        teachers (dict): ``name -> dict(model=..., ckpt_path=None, feature=None)``; at
            least one. ``model`` is a segmentor config (with its own
            ``data_preprocessor``); ``ckpt_path`` a local checkpoint, whose keys and
            shapes must fit that teacher exactly; ``feature`` the module whose output
            is the teacher's feature for the feature term.
        teacher_strict (bool): False loads the part of each ``ckpt_path`` that fits
            its teacher and logs the rest (default True: a mismatch fails at build).
        distill_loss (dict): the pixel KD loss (``BoundaryAwareMultiTeacherKDLoss``).
        student_feature (str, optional): module of the student whose output is matched
            to the teachers' features.
        feature_loss_weight (float): weight of the feature term (0: off).
        student_logits (str): module of the student whose output is its logits.
        teacher_own_preprocess (bool): feed each teacher its own normalisation (default
            True); False feeds every teacher the student's tensor.
        probe_shape (tuple): ``(H, W)`` of the build-time probe that reads feature
            channels.
    """

    def __init__(self,
                 architecture,
                 teachers: Dict[str, dict],
                 distill_loss: dict = dict(type='BoundaryAwareMultiTeacherKDLoss'),
                 student_feature: Optional[str] = None,
                 feature_loss_weight: float = 0.0,
                 student_logits: str = 'decode_head.conv_seg',
                 teacher_own_preprocess: bool = True,
                 probe_shape: Tuple[int, int] = (64, 64),
                 teacher_strict: bool = True,
                 data_preprocessor=None,
                 init_cfg=None) -> None:
        teacher_strict = check_bool(teacher_strict, 'teacher_strict',
                                    DistillConfigError)
        if isinstance(data_preprocessor, dict):
            data_preprocessor = build_codebase_model(data_preprocessor,
                                                     'data_preprocessor')
        if isinstance(architecture, dict):
            architecture = build_codebase_model(architecture, 'architecture')
        super().__init__(architecture, data_preprocessor, init_cfg)
        self.teacher_strict = teacher_strict
        if not isinstance(teachers, dict) or not teachers:
            raise DistillConfigError(
                'teachers must be a non-empty dict name -> dict(model=..., '
                f'ckpt_path=..., feature=...), got {teachers!r}')
        self.feature_loss_weight = check_number(feature_loss_weight,
                                                'feature_loss_weight')
        if self.feature_loss_weight > 0 and not student_feature:
            raise DistillConfigError('feature_loss_weight > 0 needs student_feature (the '
                                     "student module whose output is matched, e.g. "
                                     "'decode_head.convs')")
        self.teachers = nn.ModuleDict()
        self.teacher_features = {}
        for name, spec in teachers.items():
            self.teachers[name] = self._build_teacher(name, spec)
            if spec.get('feature') and self.feature_loss_weight > 0:
                self.teacher_features[name] = spec['feature']
        if self.feature_loss_weight > 0 and not self.teacher_features:
            raise DistillConfigError('feature_loss_weight > 0 but no teacher names a '
                                     'feature (teachers.<name>.feature)')
        self.distill_loss = MODELS.build(distill_loss)
        self.student_logits = student_logits
        self.student_feature = student_feature if self.feature_loss_weight > 0 else None
        sources = dict(logits=(student_logits, 'student_logits'))
        if self.student_feature:
            sources['feature'] = (self.student_feature, 'student_feature')
        self.student_recorders = self._recorders(self.student, sources, 'the student')
        self.teacher_recorders = {
            name: self._recorders(self.teachers[name],
                                  dict(feature=(src, f'teachers.{name}.feature')),
                                  f'teacher {name!r}')
            for name, src in self.teacher_features.items()}
        self.teacher_own_preprocess = bool(teacher_own_preprocess)
        self.adapters = nn.ModuleDict()
        if self.teacher_features:
            self._build_adapters(probe_shape)

    # ------------------------------------------------------------------ build
    def _build_teacher(self, name: str, spec) -> nn.Module:
        field = f'teachers.{name}'
        if not isinstance(spec, dict) or 'model' not in spec:
            raise DistillConfigError(f'{field} must be dict(model=..., ckpt_path=..., '
                                     f'feature=...), got {spec!r}')
        unknown = set(spec) - set(TEACHER_KEYS)
        if unknown:
            raise DistillConfigError(f'{field} has unknown keys {sorted(unknown)}; '
                                     f'expected {TEACHER_KEYS}')
        ckpt = spec.get('ckpt_path')
        check_teacher_ckpt(ckpt, f'{field}.ckpt_path')
        model = spec['model']
        if isinstance(model, dict):
            model = build_codebase_model(model, f'{field}.model')
        check_num_classes(self.student, model)
        if ckpt:
            load_teacher_checkpoint(model, ckpt, f'{field}.ckpt_path',
                                    strict=self.teacher_strict)
        model.eval()
        for p in model.parameters():
            p.requires_grad_(False)
        return model

    @staticmethod
    def _recorders(model: nn.Module, sources: Dict[str, Tuple[str, str]], whose: str):
        """Output recorders of ``model``: ``key -> (module name, config field)``."""
        names = [n for n, _ in model.named_modules() if n]
        for source, field in sources.values():
            if source not in names:
                close = difflib.get_close_matches(str(source), names, n=5, cutoff=0.5)
                raise DistillConfigError(
                    f'{field}={source!r} is not a module of {whose}. '
                    f'Closest names: {close or names[:5]}')
        manager = RecorderManager({k: dict(type='ModuleOutputs', source=src)
                                   for k, (src, _) in sources.items()})
        manager.initialize(model)
        return manager

    @torch.no_grad()
    def _build_adapters(self, probe_shape):
        """One 1x1 conv per teacher with a feature: student channels -> teacher's."""
        if len(probe_shape) != 2 or min(probe_shape) < 1:
            raise DistillConfigError(f'probe_shape must be (H, W), got {probe_shape!r}')
        x = torch.zeros(1, 3, *probe_shape)
        was_training = self.student.training
        self.student.eval()
        with self.student_recorders:
            self.student(x, None, mode='tensor')
        self.student.train(was_training)
        s_ch = self.student_recorders.get_recorder('feature').get_record_data().shape[1]
        for name in self.teacher_features:
            with self.teacher_recorders[name]:
                self.teachers[name](x, None, mode='tensor')
            t_ch = self.teacher_recorders[name].get_recorder(
                'feature').get_record_data().shape[1]
            self.adapters[name] = nn.Conv2d(s_ch, t_ch, 1)

    # --------------------------------------------------------------- training
    @property
    def student(self) -> nn.Module:
        return self.architecture

    def train(self, mode: bool = True):
        super().train(mode)
        self.teachers.eval()  # frozen teachers: BN statistics stay theirs
        return self

    def teacher_inputs(self, name: str, inputs: torch.Tensor) -> torch.Tensor:
        """The batch as teacher ``name``'s own preprocessor would have made it."""
        s_pp = self.data_preprocessor
        t_pp = getattr(self.teachers[name], 'data_preprocessor', None)
        if not self.teacher_own_preprocess or t_pp is None or \
                preprocess_signature(s_pp) == preprocess_signature(t_pp):
            return inputs
        return renormalize(inputs, s_pp, t_pp)

    def run_teachers(self, inputs: torch.Tensor) -> Tuple[List[torch.Tensor], dict]:
        """Every teacher's logits (list) and features (name -> tensor)."""
        logits, feats = [], {}
        with torch.no_grad():
            for name, teacher in self.teachers.items():
                t_in = self.teacher_inputs(name, inputs)
                if name in self.teacher_recorders:
                    with self.teacher_recorders[name]:
                        out = teacher(t_in, None, mode='tensor')
                    feats[name] = self.teacher_recorders[name].get_recorder(
                        'feature').get_record_data()
                else:
                    out = teacher(t_in, None, mode='tensor')
                logits.append(out)
        return logits, feats

    def loss(self, batch_inputs: torch.Tensor,
             data_samples: Optional[List] = None) -> dict:
        t_logits, t_feats = self.run_teachers(batch_inputs)
        with self.student_recorders:
            s_losses = self.student(batch_inputs, data_samples, mode='loss')
        losses = add_prefix(s_losses, 'student')
        s_logits = self.student_recorders.get_recorder('logits').get_record_data()
        labels = seg_labels(data_samples)
        if labels is not None and s_logits.shape[-2:] != labels.shape[-2:]:
            s_logits = F.interpolate(s_logits, size=labels.shape[-2:], mode='bilinear',
                                     align_corners=False)
        losses['distill.loss_pixel'], weights = self.distill_loss.forward_with_weights(
            s_logits, t_logits, labels)
        if self.teacher_features:
            s_feat = self.student_recorders.get_recorder('feature').get_record_data()
            term = 0.
            for k, name in enumerate(self.teachers):  # weights: one row per teacher
                if name not in self.teacher_features:
                    continue
                # resized before the 1x1 adapter: both are linear and bilinear weights
                # sum to 1, so this equals adapting first, at the teacher's (often
                # smaller) size
                s_in = resize_to(s_feat, t_feats[name].shape[-2:])
                dist = normalized_feature_distance(self.adapters[name](s_in),
                                                   t_feats[name])
                term = term + (weights[k] * dist).mean()
            losses['distill.loss_feature'] = self.feature_loss_weight * term
        return losses

    def _forward(self, batch_inputs, data_samples=None):
        return self.student(batch_inputs, data_samples, mode='tensor')

    def _predict(self, batch_inputs, data_samples=None):
        return self.student(batch_inputs, data_samples, mode='predict')

