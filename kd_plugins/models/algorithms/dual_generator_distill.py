"""Dual-generator data-free distillation (method M7 of DESIGN.md).

A trained teacher and no training data. Two generators make the student's images:

    G1 (hard samples)  min  w_adv * L_adv(s(G1(z)), t(G1(z)))       L_adv = -mean|s - t|
                            [+ w_bn * L_bn(teacher BNs)      with hard_bn_prior=True]
    G2 (easy samples)  min  w_oh * L_oh(t) + w_ie * L_ie(t) + w_bn * L_bn(teacher BNs)
    student            min  w_kd * L_kd(s(x), t(x)),   x = [G1(z1); G2(z2)]

(the terms are defined in :mod:`kd_plugins.models.losses.data_free`). G1 chases the
student's weak spots as DFAD does; in its step the student sees G1's images in a batch
with G2's, as when it trains, so that G1 cannot win by exploiting the student's BN batch
statistics of a hard-only batch. G2 makes samples the teacher is sure of, spread over
the classes and with the statistics of its training data (every BN layer's input mean
and variance matched to its running statistics), so the student does not learn from hard
samples only. ``hard_bn_prior=True`` puts the same BN-statistics prior (DeepInversion's)
on G1 as well, so its hard samples stay near the training data's statistics instead of
drifting wherever the two networks disagree most. Each student batch holds
``batch_size`` generated images, ``hard_ratio : easy_ratio`` of them from G1 : G2 (e.g.
8 at 3:1 -> 6 + 2); each generator trains on as many images as it gives the student. One
``train_step``: ``generator_iter`` x (G1 step, G2 step), then ``student_iter`` student
steps on fresh samples. The teacher stays in eval mode and its weights get no gradient
(gradients pass through it to the generators); in a generator step the student's weights
are frozen, so nothing leaks into the student's update. The dataloader only ticks the
loop (``DataFreePlaceholderDataset``); under DDP each process makes ``batch_size``
images.

Config::

    model = dict(
        _scope_='mmrazor',
        type='DualGeneratorDataFreeDistill',
        architecture=student_classifier,      # ImageClassifier, logits in mode='tensor'
        teacher=teacher_classifier,
        teacher_ckpt=None,                    # local path: --teacher-ckpt T.pth
        generator_hard=dict(type='DataFreeImageGenerator', img_size=32, latent_dim=256,
                            hidden_channels=128),
        generator_easy=dict(type='DataFreeImageGenerator', img_size=32, latent_dim=256,
                            hidden_channels=128),
        batch_size=256, hard_ratio=1.0, easy_ratio=1.0,
        student_iter=5, generator_iter=1, input_shape=(3, 32, 32),
        adversarial_loss=dict(type='HardSampleAdversarialLoss', loss_weight=1.0),
        onehot_loss=dict(type='TeacherOneHotLoss', loss_weight=1.0),
        info_entropy_loss=dict(type='ClassBalanceEntropyLoss', loss_weight=5.0),
        bn_stats_loss=dict(type='BNStatisticsLoss', loss_weight=1.0),
        distill_loss=dict(type='LogitsDistillLoss', mode='l1', loss_weight=1.0))
    optim_wrapper = dict(
        constructor='mmrazor.SeparateOptimWrapperConstructor',
        architecture=dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9)),
        generator_hard=dict(optimizer=dict(type='Adam', lr=1e-3)),
        generator_easy=dict(optimizer=dict(type='Adam', lr=1e-3)))
    model_wrapper_cfg = dict(type='CPUAwareSeparateDistributedDataParallel',
                             broadcast_buffers=False, find_unused_parameters=True)
"""
import contextlib
from typing import Dict, Iterator, List, Optional, Sequence, Tuple, Union

import torch
from mmengine.logging import print_log
from mmengine.model import BaseModel, is_model_wrapper
from mmengine.optim import OptimWrapper, OptimWrapperDict
from mmrazor.models.algorithms.base import BaseAlgorithm
from mmrazor.models.utils import add_prefix
from mmrazor.registry import MODELS
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from ..losses.data_free import channel_stats
from ..utils.build import build_codebase_model
from ..utils.config_checks import (DistillConfigError, check_bool, check_num_classes,
                                   check_number, check_positive_int, check_teacher_ckpt,
                                   is_int)
from ..utils.teacher_checkpoint import load_teacher_checkpoint


def unwrap(module: nn.Module) -> nn.Module:
    """The module inside a DDP-style wrapper, or ``module`` itself."""
    return module.module if is_model_wrapper(module) else module


@contextlib.contextmanager
def frozen(module: nn.Module) -> Iterator[None]:
    """No weight gradients for ``module`` in forwards run inside (inputs still get
    theirs); the trainable flags come back afterwards."""
    params = [p for p in module.parameters() if p.requires_grad]
    for p in params:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p in params:
            p.requires_grad_(True)


def split_batch(batch_size: int, hard_ratio: float,
                easy_ratio: float) -> Tuple[int, int]:
    """``(num_hard, num_easy)`` summing to ``batch_size`` in the ratio given (hard count
    rounded); a generator with a non-zero ratio gets at least one image or an error."""
    check_positive_int(batch_size, 'batch_size', DistillConfigError)
    hard = check_number(hard_ratio, 'hard_ratio', error=DistillConfigError)
    easy = check_number(easy_ratio, 'easy_ratio', error=DistillConfigError)
    if hard == 0 and easy == 0:
        raise DistillConfigError('hard_ratio and easy_ratio are both 0: the student '
                                 'would get no samples; give at least one a weight > 0')
    num_hard = round(batch_size * hard / (hard + easy))
    num_easy = batch_size - num_hard
    for field, ratio, n in (('hard_ratio', hard, num_hard), ('easy_ratio', easy,
                                                             num_easy)):
        if ratio > 0 and n == 0:
            raise DistillConfigError(
                f'batch_size={batch_size} with hard_ratio:easy_ratio = {hard:g}:{easy:g} '
                f'gives no sample for {field}; raise batch_size or set {field}=0')
    return num_hard, num_easy


def build_generator(cfg: Dict, field: str, input_shape: Tuple[int, ...]) -> nn.Module:
    """Build the generator of config ``field``; it must declare ``latent_dim`` and make
    images of ``input_shape`` (checked on 2 latent vectors, in eval mode, no grad)."""
    try:
        generator = MODELS.build(cfg)
    except (TypeError, ValueError) as err:
        raise DistillConfigError(f'{field}: {err}') from err
    latent_dim = getattr(generator, 'latent_dim', None)
    if not is_int(latent_dim) or latent_dim <= 0:
        raise DistillConfigError(f'{field}: a generator must have a positive int '
                                 f'latent_dim, got {latent_dim!r}')
    was_training = generator.training
    generator.eval()
    try:
        with torch.no_grad():
            out = generator(torch.randn(2, latent_dim))
    finally:
        generator.train(was_training)
    if not torch.is_tensor(out) or tuple(out.shape) != (2, ) + tuple(input_shape):
        got = tuple(out.shape[1:]) if torch.is_tensor(out) else type(out).__name__
        raise DistillConfigError(
            f'{field}: makes images of shape {got} (img_size='
            f'{getattr(generator, "img_size", "?")}, out_channels='
            f'{getattr(generator, "out_channels", "?")}) but input_shape, the '
            f"teacher's input, is {tuple(input_shape)}: set {field}.img_size="
            f'{input_shape[-1]} and {field}.out_channels={input_shape[0]}')
    return generator


class BNInputRecorder:
    """Forward hooks on a model's BN layers (those with running statistics): inside
    :meth:`recording`, each BN call records the batch mean and variance of its input."""

    def __init__(self, model: nn.Module) -> None:
        self.layers = [m for m in model.modules()
                       if isinstance(m, _BatchNorm) and m.running_mean is not None]
        self.active = False
        self.records: List[Tuple[_BatchNorm, torch.Tensor, torch.Tensor]] = []
        for layer in self.layers:
            layer.register_forward_hook(self._hook)

    def _hook(self, module: _BatchNorm, inputs: tuple, output: torch.Tensor) -> None:
        if self.active:
            self.records.append((module, *channel_stats(inputs[0])))

    @contextlib.contextmanager
    def recording(self) -> Iterator[None]:
        self.records, self.active = [], True
        try:
            yield
        finally:
            self.active = False

    def take(self) -> Tuple[List[torch.Tensor], ...]:
        """``(batch_means, batch_vars, running_means, running_vars)`` of the recorded
        calls, in call order; clears the records."""
        records, self.records = self.records, []
        return ([r[1] for r in records], [r[2] for r in records],
                [r[0].running_mean for r in records], [r[0].running_var for r in records])


@MODELS.register_module()
class DualGeneratorDataFreeDistill(BaseAlgorithm):
    """Data-free distillation with a hard-sample and an easy-sample generator (M7).

    Args:
        architecture (dict | BaseModel): the student classifier; ``mode='tensor'`` must
            give ``(N, num_classes)`` logits (mmpretrain ``ImageClassifier``).
        teacher (dict | BaseModel): the trained teacher classifier, same classes.
        generator_hard (dict): G1 config (e.g. ``DataFreeImageGenerator``).
        generator_easy (dict): G2 config.
        teacher_ckpt (str, optional): local teacher checkpoint, loaded at build; its
            keys and shapes must fit the teacher exactly.
        teacher_strict (bool): False loads the part of ``teacher_ckpt`` that fits and
            logs the rest (default True: a mismatch fails at build).
        batch_size (int): generated images per student step (per process).
        hard_ratio (float): >= 0, G1's share of each student batch.
        easy_ratio (float): >= 0, G2's share (not both 0).
        student_iter (int): student steps per ``train_step``.
        generator_iter (int): (G1, G2) step pairs per ``train_step``, before those.
        input_shape (tuple): ``(C, H, W)`` the teacher takes; the generators must make it.
        adversarial_loss, onehot_loss, info_entropy_loss, bn_stats_loss, distill_loss
            (dict): the loss configs, each with ``loss_weight``.
        hard_bn_prior (bool): G1's step also minimises ``bn_stats_loss`` on its
            images (default False: the BN prior is G2's only).
        data_preprocessor (dict | nn.Module, optional): prepares real images for
            validation (a dict without ``type`` is an mmpretrain ``ClsDataPreprocessor``);
            generated images are already in the teacher's normalised input space.
    """

    def __init__(self,
                 architecture: Union[BaseModel, Dict],
                 teacher: Union[BaseModel, Dict],
                 generator_hard: Dict,
                 generator_easy: Dict,
                 teacher_ckpt: Optional[str] = None,
                 batch_size: int = 256,
                 hard_ratio: float = 1.0,
                 easy_ratio: float = 1.0,
                 student_iter: int = 1,
                 generator_iter: int = 1,
                 input_shape: Sequence[int] = (3, 32, 32),
                 adversarial_loss: Dict = dict(type='HardSampleAdversarialLoss'),
                 onehot_loss: Dict = dict(type='TeacherOneHotLoss'),
                 info_entropy_loss: Dict = dict(type='ClassBalanceEntropyLoss',
                                                loss_weight=5.0),
                 bn_stats_loss: Dict = dict(type='BNStatisticsLoss'),
                 distill_loss: Dict = dict(type='LogitsDistillLoss'),
                 data_preprocessor: Optional[Union[Dict, nn.Module]] = None,
                 init_cfg: Optional[Dict] = None,
                 teacher_strict: bool = True,
                 hard_bn_prior: bool = False) -> None:
        check_teacher_ckpt(teacher_ckpt)
        check_bool(teacher_strict, 'teacher_strict', DistillConfigError)
        self.hard_bn_prior = check_bool(hard_bn_prior, 'hard_bn_prior',
                                        DistillConfigError)
        self.num_hard, self.num_easy = split_batch(batch_size, hard_ratio, easy_ratio)
        self.batch_size = batch_size
        self.student_iter = check_positive_int(student_iter, 'student_iter',
                                               DistillConfigError)
        self.generator_iter = check_positive_int(generator_iter, 'generator_iter',
                                                 DistillConfigError)
        if not isinstance(input_shape, (tuple, list)) or len(input_shape) != 3:
            raise DistillConfigError(
                f'input_shape must be (C, H, W), got {input_shape!r}')
        self.input_shape = tuple(
            check_positive_int(v, 'input_shape', DistillConfigError) for v in input_shape)
        if isinstance(data_preprocessor, dict):
            data_preprocessor = build_codebase_model(
                dict(dict(type='mmpretrain.ClsDataPreprocessor'), **data_preprocessor),
                'data_preprocessor')
        if isinstance(architecture, dict):
            architecture = build_codebase_model(architecture, 'architecture')
        if isinstance(teacher, dict):
            teacher = build_codebase_model(teacher, 'teacher')
        check_num_classes(architecture, teacher)
        super().__init__(architecture, data_preprocessor, init_cfg)

        self.teacher = teacher
        if teacher_ckpt is None:
            print_log('DualGeneratorDataFreeDistill: no teacher_ckpt given, the teacher '
                      'keeps its initial weights (fine for tests, not for real training)',
                      logger='current', level=30)
        else:
            load_teacher_checkpoint(self.teacher, teacher_ckpt, strict=teacher_strict)
        self.teacher.requires_grad_(False)
        self.teacher.eval()

        self.generator_hard = build_generator(generator_hard, 'generator_hard',
                                              self.input_shape)
        self.generator_easy = build_generator(generator_easy, 'generator_easy',
                                              self.input_shape)
        self._check_logits()

        loss_cfgs = dict(adversarial_loss=adversarial_loss, onehot_loss=onehot_loss,
                         info_entropy_loss=info_entropy_loss, bn_stats_loss=bn_stats_loss,
                         distill_loss=distill_loss)
        for field, cfg in loss_cfgs.items():
            setattr(self, field, MODELS.build(cfg))
        self.bn_recorder = BNInputRecorder(self.teacher)
        if not self.bn_recorder.layers and self.bn_stats_loss.loss_weight > 0:
            raise DistillConfigError(
                'bn_stats_loss.loss_weight > 0 but the teacher has no BatchNorm layer '
                'with running statistics; set bn_stats_loss.loss_weight=0')
        if self.hard_bn_prior and not self.bn_recorder.layers:
            raise DistillConfigError(
                'hard_bn_prior=True but the teacher has no BatchNorm layer with running '
                'statistics to match; set hard_bn_prior=False')

    @property
    def student(self) -> nn.Module:
        """Alias of ``architecture`` (possibly DDP-wrapped)."""
        return self.architecture

    def _check_logits(self) -> None:
        """Teacher and student give ``(N, K)`` logits of one shape on ``input_shape``."""
        x = torch.zeros((2, ) + self.input_shape)
        shapes = {}
        for field, model in (('teacher', self.teacher), ('architecture', self.student)):
            was_training = model.training
            model.eval()
            try:
                with torch.no_grad():
                    out = model(x, mode='tensor')
            except RuntimeError as err:
                raise DistillConfigError(
                    f'{field} does not run on input_shape={self.input_shape}: '
                    f'{err}') from err
            finally:
                model.train(was_training)
            if not torch.is_tensor(out) or out.dim() != 2:
                raise DistillConfigError(
                    f"{field}(x, mode='tensor') must return (N, num_classes) logits (a "
                    f'classifier with a head), got {type(out).__name__}')
            shapes[field] = tuple(out.shape)
        if shapes['teacher'] != shapes['architecture']:
            raise DistillConfigError(
                f'teacher logits {shapes["teacher"]} and architecture (student) logits '
                f'{shapes["architecture"]} differ: both must predict the same classes')

    def train(self, mode: bool = True) -> 'DualGeneratorDataFreeDistill':
        super().train(mode)
        self.teacher.eval()
        return self

    def _latent(self, generator: nn.Module, num: int) -> torch.Tensor:
        gen = unwrap(generator)
        return torch.randn(num, gen.latent_dim,
                           device=next(gen.parameters()).device)

    def train_step(self, data: Union[dict, tuple, list],
                   optim_wrapper: OptimWrapperDict) -> Dict[str, torch.Tensor]:
        """One step of every part; ``data`` (placeholder items) is not used."""
        log_vars = {}
        for _ in range(self.generator_iter):
            if self.num_hard:
                log_vars.update(
                    self.train_hard_generator(optim_wrapper['generator_hard']))
            if self.num_easy:
                log_vars.update(
                    self.train_easy_generator(optim_wrapper['generator_easy']))
        for _ in range(self.student_iter):
            log_vars.update(self.train_student(optim_wrapper['architecture']))
        return log_vars

    def train_hard_generator(self, optim: OptimWrapper) -> Dict[str, torch.Tensor]:
        """G1 step: make student and teacher disagree (student weights frozen).

        The student sees the hard images together with (detached) easy ones, the batch
        it trains on: in train mode its BN layers normalise with batch statistics, and
        G1 must not win by exploiting a hard-only batch the student never sees."""
        latent = self._latent(self.generator_hard, self.num_hard)
        with optim.optim_context(self.generator_hard):
            hard = self.generator_hard(latent)
            images = torch.cat([hard, self.sample(self.generator_easy, self.num_easy)])
            student = unwrap(self.student)
            with frozen(student):
                preds_S = student(images, mode='tensor')[:self.num_hard]
            with self.bn_recorder.recording() if self.hard_bn_prior else \
                    contextlib.nullcontext():
                preds_T = self.teacher(hard, mode='tensor')
            losses = dict(loss_adv=self.adversarial_loss(preds_S, preds_T))
            if self.hard_bn_prior:
                losses['loss_bn_stats'] = self.bn_stats_loss(*self.bn_recorder.take())
        loss, log_vars = self.parse_losses(losses)
        optim.update_params(loss)
        return add_prefix(log_vars, 'generator_hard')

    def train_easy_generator(self, optim: OptimWrapper) -> Dict[str, torch.Tensor]:
        """G2 step: confident, class-balanced teacher predictions, matched BN stats."""
        latent = self._latent(self.generator_easy, self.num_easy)
        with optim.optim_context(self.generator_easy):
            images = self.generator_easy(latent)
            with self.bn_recorder.recording():
                preds_T = self.teacher(images, mode='tensor')
            losses = dict(loss_onehot=self.onehot_loss(preds_T),
                          loss_info_entropy=self.info_entropy_loss(preds_T))
            if self.bn_recorder.layers:
                losses['loss_bn_stats'] = self.bn_stats_loss(*self.bn_recorder.take())
        loss, log_vars = self.parse_losses(losses)
        optim.update_params(loss)
        return add_prefix(log_vars, 'generator_easy')

    def sample(self, generator: nn.Module, num: int) -> torch.Tensor:
        """``num`` images of ``generator`` without gradients (may be 0)."""
        gen = unwrap(generator)
        if not num:
            return torch.empty((0, ) + self.input_shape,
                               device=next(gen.parameters()).device)
        with torch.no_grad():
            return gen(self._latent(gen, num))

    def generate(self) -> torch.Tensor:
        """A student batch without gradients: ``num_hard`` G1 images, then
        ``num_easy`` G2 images."""
        return torch.cat([self.sample(self.generator_hard, self.num_hard),
                          self.sample(self.generator_easy, self.num_easy)])

    def train_student(self, optim: OptimWrapper) -> Dict[str, torch.Tensor]:
        """Student step: match the teacher's logits on G1 and G2 samples together."""
        images = self.generate()
        with optim.optim_context(self.student):
            preds_S = self.student(images, mode='tensor')
            with torch.no_grad():
                preds_T = self.teacher(images, mode='tensor')
            losses = dict(loss_kd=self.distill_loss(preds_S, preds_T))
        loss, log_vars = self.parse_losses(losses)
        optim.update_params(loss)
        return add_prefix(log_vars, 'distill')
