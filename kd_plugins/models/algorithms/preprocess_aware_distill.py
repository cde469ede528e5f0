"""Single-teacher distillation where the teacher sees inputs prepared as it was trained.

MMRazor's ``SingleTeacherDistill`` feeds the teacher the *student's* data-preprocessor
output. For mixed pairs (YOLOv3-D53 normalises with mean 0 / std 255, YOLOv3-MobileNetV2
and Faster R-CNN with ImageNet mean/std) the teacher then sees wrongly scaled images: a
silent accuracy loss. :class:`PreprocessAwareDistill` runs the teacher's own
data preprocessor on the same raw batch (also under DDP, where MMEngine calls the
algorithm's preprocessor itself), and it checks the config when it is built: the teacher
checkpoint exists locally, class counts agree, recorder sources exist and feature channels
match (or a connector fixes them). Every kd_plugins algorithm derives from it.

Config::

    model = dict(
        type='PreprocessAwareDistill',
        architecture=student_model,        # its data_preprocessor feeds the student
        teacher=teacher_model,             # its data_preprocessor feeds the teacher
        teacher_ckpt=teacher_ckpt,         # local path, set with --teacher-ckpt
        teacher_strict=True,               # False: load a partly fitting checkpoint
        distiller=dict(type='ConfigurableDistiller', ...))
"""
import copy
from typing import Dict, List, Optional, Union

import torch
from mmengine.logging import print_log
from mmengine.model import BaseModel
from mmrazor.models.algorithms.distill.configurable.single_teacher_distill import \
    SingleTeacherDistill
from mmrazor.models.utils import add_prefix
from mmrazor.registry import MODELS
from torch import nn

from ..losses.detection_heads import check_detector_heads
from ..utils.build import build_codebase_model
from ..utils.config_checks import (DistillConfigError, check_bool,
                                   check_distill_losses, check_feature_channels,
                                   check_level_counts, check_num_classes,
                                   check_recorder_sources, check_teacher_ckpt)
from ..utils.teacher_checkpoint import load_teacher_checkpoint

_NORM_ATTRS = ('_enable_normalize', '_channel_conversion', 'channel_conversion',
               'pad_size_divisor', 'pad_value')


def preprocess_signature(pp: Optional[nn.Module]):
    """What decides the tensor a data preprocessor makes from a raw batch."""
    if pp is None:
        return None
    sig = [type(pp).__name__]
    for attr in _NORM_ATTRS:
        sig.append(getattr(pp, attr, None))
    for buf in ('mean', 'std'):
        t = getattr(pp, buf, None)
        sig.append(tuple(t.flatten().tolist()) if torch.is_tensor(t) else None)
    for attr in ('batch_augments', ):
        sig.append(repr(getattr(pp, attr, None)))
    return tuple(sig)


def channel_conversion(pp: nn.Module) -> bool:
    """Whether a preprocessor swaps BGR <-> RGB (mmengine / mmdet spell the flag
    ``_channel_conversion``, mmseg's SegDataPreProcessor ``channel_conversion``)."""
    return bool(getattr(pp, '_channel_conversion', False)
                or getattr(pp, 'channel_conversion', False))


def renormalize(inputs: torch.Tensor, src: nn.Module, dst: nn.Module) -> torch.Tensor:
    """Map a batch normalised by preprocessor ``src`` to ``dst``'s normalisation.

    Exact for image pixels; padded borders hold ``src``'s pad value mapped through.
    """
    x = inputs
    if getattr(src, '_enable_normalize', False):
        x = x * src.std + src.mean
    if channel_conversion(src) != channel_conversion(dst) and x.size(1) == 3:
        x = x.flip(1)
    if getattr(dst, '_enable_normalize', False):
        x = (x - dst.mean) / dst.std
    return x


def inherit_preprocessor(teacher, data_preprocessor):
    """A teacher config without its own ``data_preprocessor`` gets the config's one.

    Trained alone from a config file, such a model was built by MMEngine's Runner with
    the file's top-level ``data_preprocessor`` (which the Runner also hands to the
    distillation algorithm); built inside the algorithm it would otherwise get its
    codebase's default (no mean/std) and see unnormalised pixels.
    """
    if isinstance(teacher, dict) and 'data_preprocessor' not in teacher and \
            not teacher.get('cfg_path') and isinstance(data_preprocessor, dict):
        teacher = dict(teacher, data_preprocessor=copy.deepcopy(data_preprocessor))
    return teacher


class WrappedPreprocessor(nn.Module):
    """A preprocessor around another one (``self.<_wrapped>``) that behaves like it for
    every attribute it does not define itself (cast_data, device, mean ...)."""
    _wrapped = ''

    def __getattr__(self, name):
        try:
            return super().__getattr__(name)
        except AttributeError:
            return getattr(super().__getattr__(self._wrapped), name)


class TeacherInputsPreprocessor(WrappedPreprocessor):
    """The algorithm's data preprocessor: the student's, plus the teacher's on the side.

    ``forward`` returns exactly what the student's preprocessor returns; in training it
    also prepares the same raw batch with the teacher's preprocessor and keeps it until
    the algorithm's ``loss`` takes it.
    """
    _wrapped = 'student_pp'

    def __init__(self, student_pp: nn.Module, teacher_pp: nn.Module):
        super().__init__()
        self.student_pp = student_pp
        self.teacher_pp = teacher_pp
        self._teacher_batches = []

    def forward(self, data: dict, training: bool = False,
                append: bool = False) -> Union[dict, list]:
        """``append``: keep the teacher batches of earlier calls (one per branch of a
        multi-branch batch, :class:`MultiBranchPreprocessor`)."""
        if not append:
            self._teacher_batches = []
        if training and isinstance(data, dict) and 'inputs' in data:
            t_data = dict(data)
            if data.get('data_samples') is not None:
                t_data['data_samples'] = copy.deepcopy(data['data_samples'])
            # training=False: no random batch augments, so both see the same images
            teacher_batch = self.teacher_pp(t_data, False)
            out = self.student_pp(data, training)
            self._teacher_batches.append((out['inputs'], teacher_batch))
            return out
        return self.student_pp(data, training)

    def take_teacher_batch(self, student_inputs: torch.Tensor):
        """The teacher's batch for these student inputs, or None if not prepared."""
        found = [i for i, (s, _) in enumerate(self._teacher_batches)
                 if s is student_inputs]
        if not found:
            return None
        batch = self._teacher_batches.pop(found[0])[1]
        if batch['inputs'].shape[-2:] != student_inputs.shape[-2:]:
            return None  # student's batch augments changed the geometry
        return batch


@MODELS.register_module()
class PreprocessAwareDistill(SingleTeacherDistill):
    """``SingleTeacherDistill`` with teacher-side preprocessing and build-time checks.

    Args:
        teacher_ckpt (str, optional): local checkpoint of the teacher model, loaded at
            build time. Its keys and shapes must fit the teacher exactly
            (:func:`~kd_plugins.models.utils.teacher_checkpoint.load_teacher_checkpoint`):
            a checkpoint of another model, or a whole distillation checkpoint, fails
            naming the file and the mismatching keys.
        teacher_strict (bool): False loads the keys of ``teacher_ckpt`` that fit and
            logs how many did not (default True: fail).
        teacher_own_preprocess (bool): run the teacher's own data preprocessor when it
            differs from the student's (default True). False reproduces MMRazor's
            behaviour (teacher sees the student's tensor).
        teacher_forward_mode (str): how a frozen teacher runs: ``'tensor'`` (default:
            network outputs only, no target assignment or loss, under ``no_grad``) or
            ``'loss'`` (MMRazor's behaviour, computes and discards the teacher's
            losses). A trainable teacher always runs in ``'loss'`` mode.
        Others: as :class:`mmrazor.models.SingleTeacherDistill`.
    """

    def __init__(self,
                 distiller: dict,
                 teacher: Union[BaseModel, Dict],
                 architecture: Union[BaseModel, Dict],
                 teacher_ckpt: Optional[str] = None,
                 teacher_own_preprocess: bool = True,
                 teacher_forward_mode: str = 'tensor',
                 teacher_strict: bool = True,
                 **kwargs) -> None:
        check_teacher_ckpt(teacher_ckpt)
        check_bool(teacher_strict, 'teacher_strict', DistillConfigError)
        check_distill_losses(distiller)
        if teacher_forward_mode not in ('tensor', 'loss'):
            raise ValueError("teacher_forward_mode must be 'tensor' or 'loss', got "
                             f'{teacher_forward_mode!r}')
        # MMEngine's Runner fills in the config's top-level `data_preprocessor` (the
        # student's, e.g. DetDataPreprocessor), which the mmrazor scope cannot build
        data_preprocessor = kwargs.pop('data_preprocessor', None)
        teacher = inherit_preprocessor(teacher, data_preprocessor)
        if isinstance(data_preprocessor, dict):
            data_preprocessor = build_codebase_model(data_preprocessor,
                                                     'data_preprocessor')
        if data_preprocessor is not None:
            kwargs['data_preprocessor'] = data_preprocessor
        if isinstance(architecture, dict):
            architecture = build_codebase_model(architecture, 'architecture')
        if isinstance(teacher, dict):
            teacher = build_codebase_model(teacher, 'teacher')
        check_num_classes(architecture, teacher)
        check_recorder_sources(distiller.get('student_recorders'), architecture,
                               'distiller.student_recorders')
        check_recorder_sources(distiller.get('teacher_recorders'), teacher,
                               'distiller.teacher_recorders')
        recorder_cfgs = dict(student=dict(distiller.get('student_recorders') or {}),
                             teacher=dict(distiller.get('teacher_recorders') or {}))
        check_level_counts(architecture, teacher, recorder_cfgs)
        if teacher_ckpt is None:
            print_log('PreprocessAwareDistill: no teacher_ckpt given, the teacher keeps '
                      'its initial weights (fine for tests, not for real training)',
                      logger='current', level=30)
        super().__init__(distiller=distiller, teacher=teacher, architecture=architecture,
                         teacher_ckpt=None, **kwargs)
        if teacher_ckpt is not None:
            load_teacher_checkpoint(self.teacher, teacher_ckpt, strict=teacher_strict)
        # cross-head connectors run the teacher's head on student features (M1)
        for name, connector in self.distiller.connectors.items():
            if hasattr(connector, 'bind_teacher'):
                try:
                    connector.bind_teacher(self.teacher)
                except ValueError as err:
                    raise DistillConfigError(
                        f'distiller.connectors.{name}: {err}') from None
        check_feature_channels(
            self.distiller, self.student, self.teacher,
            distiller.get('loss_forward_mappings'), recorder_cfgs)
        # a head-output loss must read a head both detectors have (M1, M2, M3)
        check_detector_heads(self.distiller.distill_losses,
                             dict(student=self.student, teacher=self.teacher),
                             DistillConfigError)
        self.teacher_forward_mode = teacher_forward_mode

        s_pp = self.data_preprocessor
        t_pp = getattr(self.teacher, 'data_preprocessor', None)
        self.teacher_own_preprocess = bool(
            teacher_own_preprocess and t_pp is not None
            and preprocess_signature(s_pp) != preprocess_signature(t_pp))
        if self.teacher_own_preprocess:
            self.data_preprocessor = TeacherInputsPreprocessor(s_pp, t_pp)

    @property
    def detector(self) -> nn.Module:
        """The student, under the name mmdet's training hooks look for on a model that
        wraps a detector (``YOLOXModeSwitchHook`` turns on
        ``model.detector.bbox_head.use_l1`` for the last epochs of a YOLOX schedule)."""
        return self.student

    def teacher_batch(self, batch_inputs: torch.Tensor,
                      data_samples: Optional[List]) -> tuple:
        """Inputs and data samples for the teacher's forward."""
        if not self.teacher_own_preprocess:
            return batch_inputs, data_samples
        batch = self.data_preprocessor.take_teacher_batch(batch_inputs)
        if batch is not None:
            return batch['inputs'], batch.get('data_samples', data_samples)
        return renormalize(batch_inputs, self.data_preprocessor.student_pp,
                           self.teacher.data_preprocessor), data_samples

    def run_teacher(self, batch_inputs, data_samples) -> dict:
        """Teacher forward inside its recorders; returns its losses if trainable."""
        t_inputs, t_samples = self.teacher_batch(batch_inputs, data_samples)
        losses = dict()
        with self.distiller.teacher_recorders, self.distiller.deliveries:
            if self.teacher_trainable:
                t_losses = self.teacher(t_inputs, t_samples, mode='loss')
                losses.update(add_prefix(t_losses, 'teacher'))
            else:
                with torch.no_grad():
                    self.teacher(t_inputs, t_samples, mode=self.teacher_forward_mode)
        return losses

    def run_student(self, batch_inputs, data_samples) -> dict:
        """Student forward inside its recorders; returns its task losses if used."""
        losses = dict()
        with self.distiller.student_recorders, self.distiller.deliveries:
            if self.calculate_student_loss:
                s_losses = self.student(batch_inputs, data_samples, mode='loss')
                losses.update(add_prefix(s_losses, 'student'))
            elif self.student_trainable:
                self.student(batch_inputs, data_samples, mode='loss')
            else:
                with torch.no_grad():
                    self.student(batch_inputs, data_samples, mode='loss')
        return losses

    def loss(self, batch_inputs: torch.Tensor,
             data_samples: Optional[List] = None) -> dict:
        self.distiller.set_deliveries_override(False)
        losses = self.run_teacher(batch_inputs, data_samples)
        self.distiller.set_deliveries_override(True)
        losses.update(self.run_student(batch_inputs, data_samples))
        if not self.distillation_stopped:
            losses.update(add_prefix(
                self.compute_distill_losses(batch_inputs, data_samples), 'distill'))
        return losses

    def compute_distill_losses(self, batch_inputs: torch.Tensor,
                               data_samples: Optional[List]) -> dict:
        """The distiller's losses, after both forwards (subclasses add inputs)."""
        return self.distiller.compute_distill_losses()
