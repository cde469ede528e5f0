"""Mutual metric-learning distillation (method M8 of DESIGN.md), algorithm.

Teacher and student are both metric-learning models (``ImageClassifier`` +
``EmbeddingHead``) and **both train** in the same step, each with its own task loss
(multi-similarity) plus:

* guide    (teacher -> student): the student's batch structure (scale-free pairwise
  distances and angles of its embeddings) moves towards the teacher's, which is held
  fixed in this term (relational KD, ``guide_loss``);
* feedback (student -> teacher): the teacher's structure moves towards the student's,
  held fixed, on the anchors where the student separates the classes better (its
  nearest-negative minus farthest-positive margin is larger: ``feedback_gate=
  'student_better'``; ``'all'`` uses every anchor). The small model's smoother geometry
  acts as a regulariser on the big one, which limits its over-fitting
  (``feedback_loss``), ramped in linearly over ``feedback_warmup_iters``.

Either direction switches off with ``guide_loss=None`` / ``feedback_loss=None``; with no
feedback and a frozen trained teacher (``teacher_trainable=False``) this is one-way
relational distillation. The relational terms are dimension-free; an optional direct
embedding term (``embedding_loss_weight``) compares the student's embedding with the
teacher's and needs equal sizes or ``projection=True`` (a learned linear map).

Config::

    model = dict(
        type='MutualMetricDistill',
        architecture=student,            # ImageClassifier + EmbeddingHead (128-d)
        teacher=teacher,                 # ImageClassifier + EmbeddingHead (512-d)
        teacher_ckpt='T.pth',            # the teacher trained alone; it trains on
        guide_loss=dict(type='MutualRelationalLoss', distance_weight=1.0,
                        angle_weight=2.0, loss_weight=1.0),
        feedback_loss=dict(type='MutualRelationalLoss', distance_weight=1.0,
                           angle_weight=2.0, loss_weight=1.0),
        feedback_warmup_iters=100, feedback_gate='student_better')

The optimizer covers both networks; the configs start the teacher from its checkpoint
trained alone and fine-tune it at a tenth of the learning rate
(``optim_wrapper.paramwise_cfg.custom_keys={'teacher.': dict(lr_mult=0.1)}``): trained
from scratch next to the student at full rate, the feedback pulled the teacher down to
the student's level (benchmarks/history/2026-11-25-m8-from-scratch/).
"""
import copy
from typing import Dict, List, Optional, Union

import torch
import torch.nn.functional as F
from mmengine.logging import MessageHub
from mmengine.model import BaseModel
from mmrazor.registry import MODELS
from torch import nn

from ..embedders.embedding_head import batch_labels
from ..losses.mutual_metric import student_better_anchors
from ..utils.config_checks import DistillConfigError, check_int, check_number
from .preprocess_aware_distill import PreprocessAwareDistill

RECORDER = 'm8_embedding'
GATES = ('student_better', 'all')


def embedding_dim(model: nn.Module, source: str) -> Optional[int]:
    """Width of the embedding the module ``source`` outputs (a Linear layer), else
    the model head's ``embed_dim``, else None."""
    module = dict(model.named_modules()).get(source)
    if isinstance(module, nn.Linear):
        return module.out_features
    return getattr(getattr(model, 'head', None), 'embed_dim', None)


def warmup_factor(iteration: int, warmup_iters: int) -> float:
    """Linear ramp 0 -> 1 over ``warmup_iters`` iterations (1 without warm-up)."""
    if warmup_iters <= 0:
        return 1.0
    return min(1.0, iteration / warmup_iters)


@MODELS.register_module()
class MutualMetricDistill(PreprocessAwareDistill):
    """Mutual metric-learning distillation (M8): teacher guides, student feeds back.

    Args:
        student_embedding (str): student module whose output is its embedding
            (default ``'head.fc'``). ``teacher_embedding``: the same for the teacher.
        guide_loss (dict, optional): relational loss of the student towards the
            teacher (``MutualRelationalLoss``); None switches guidance off.
        feedback_loss (dict, optional): relational loss of the teacher towards the
            student; None switches feedback off.
        guide_warmup_iters / feedback_warmup_iters (int): linear ramp of each term.
        feedback_gate (str): ``'student_better'`` (default) or ``'all'``.
        embedding_loss_weight (float): weight of a direct embedding term
            ``mean ||n(P s) - n(t)||^2`` (n: L2 normalisation, P: projection or identity);
            0 (default) leaves it out.
        projection (bool): learn a linear map from the student's embedding size to the
            teacher's for that term.
        teacher_trainable (bool): default True (mutual learning); False freezes the
            teacher (then ``feedback_loss`` must be None).
        distiller (dict, optional): ``ConfigurableDistiller`` with further terms.
        Others: as :class:`PreprocessAwareDistill`.
    """

    def __init__(self,
                 architecture: Union[BaseModel, Dict],
                 teacher: Union[BaseModel, Dict],
                 student_embedding: str = 'head.fc',
                 teacher_embedding: str = 'head.fc',
                 guide_loss: Optional[dict] = dict(type='MutualRelationalLoss'),
                 feedback_loss: Optional[dict] = dict(type='MutualRelationalLoss'),
                 guide_warmup_iters: int = 0,
                 feedback_warmup_iters: int = 0,
                 feedback_gate: str = 'student_better',
                 embedding_loss_weight: float = 0.0,
                 projection: bool = False,
                 teacher_trainable: bool = True,
                 distiller: Optional[dict] = None,
                 **kwargs) -> None:
        if feedback_gate not in GATES:
            raise DistillConfigError(f'feedback_gate must be one of {GATES}, got '
                                     f'{feedback_gate!r}')
        if feedback_loss is not None and not teacher_trainable:
            raise DistillConfigError(
                'feedback_loss updates the teacher, but teacher_trainable=False freezes '
                'it: set feedback_loss=None for one-way distillation')
        self._guide_warmup = check_int(guide_warmup_iters, 'guide_warmup_iters', 0,
                                       DistillConfigError)
        self._feedback_warmup = check_int(feedback_warmup_iters, 'feedback_warmup_iters',
                                          0, DistillConfigError)
        embedding_loss_weight = check_number(embedding_loss_weight,
                                             'embedding_loss_weight',
                                             error=DistillConfigError)
        distiller = self._recording_distiller(distiller, student_embedding,
                                              teacher_embedding)
        kwargs.setdefault('teacher_norm_eval', not teacher_trainable)
        super().__init__(distiller=distiller, teacher=teacher, architecture=architecture,
                         teacher_trainable=teacher_trainable, **kwargs)
        self.guide_loss = None if guide_loss is None else MODELS.build(guide_loss)
        self.feedback_loss = None if feedback_loss is None else \
            MODELS.build(feedback_loss)
        self.feedback_gate = feedback_gate
        self.embedding_loss_weight = embedding_loss_weight
        s_dim = embedding_dim(self.student, student_embedding)
        t_dim = embedding_dim(self.teacher, teacher_embedding)
        self.projection = self._projection(projection, embedding_loss_weight, s_dim,
                                           t_dim)
        self._calls = 0

    @staticmethod
    def _recording_distiller(distiller, student_source, teacher_source) -> dict:
        cfg = copy.deepcopy(dict(distiller or dict(type='ConfigurableDistiller')))
        for side, source in (('student_recorders', student_source),
                             ('teacher_recorders', teacher_source)):
            recorders = dict(cfg.get(side) or {})
            if RECORDER in recorders:
                raise DistillConfigError(f'distiller.{side}.{RECORDER} is reserved for '
                                         'the embeddings M8 compares')
            if not isinstance(source, str) or not source:
                field = side.split('_')[0] + '_embedding'
                raise DistillConfigError(f'{field} must name a module, got {source!r}')
            recorders[RECORDER] = dict(type='ModuleOutputs', source=source)
            cfg[side] = recorders
        return cfg

    @staticmethod
    def _projection(projection, weight, s_dim, t_dim) -> Optional[nn.Module]:
        if not projection:
            if weight > 0 and (s_dim is None or t_dim is None or s_dim != t_dim):
                raise DistillConfigError(
                    f'embedding_loss_weight={weight:g} compares the student\'s '
                    f'{s_dim}-d embedding with the teacher\'s {t_dim}-d one without a '
                    'projection: set projection=True (a learned linear map) or '
                    'embedding_loss_weight=0 (the relational terms need no equal sizes)')
            return None
        if s_dim is None or t_dim is None:
            raise DistillConfigError(
                'projection=True needs both embedding sizes: the embedding modules must '
                'be nn.Linear layers or the heads must declare embed_dim')
        return nn.Linear(s_dim, t_dim)

    def current_iter(self) -> int:
        """The runner's iteration (MessageHub ``iter``), else the count of loss calls."""
        it = MessageHub.get_current_instance().get_info('iter')
        return self._calls if it is None else int(it)

    def compute_distill_losses(self, batch_inputs: torch.Tensor,
                               data_samples: Optional[List]) -> dict:
        losses = dict(self.distiller.compute_distill_losses())
        s_emb = self.distiller.student_recorders.get_recorder(RECORDER).get_record_data()
        t_emb = self.distiller.teacher_recorders.get_recorder(RECORDER).get_record_data()
        if s_emb.size(0) != t_emb.size(0) or s_emb.dim() != 2 or t_emb.dim() != 2:
            raise ValueError(f'student embeddings {tuple(s_emb.shape)} and teacher '
                             f'embeddings {tuple(t_emb.shape)} must be (N, D) of one '
                             'batch')
        it = self.current_iter()
        self._calls += 1
        if self.guide_loss is not None:
            losses['loss_guide'] = warmup_factor(it, self._guide_warmup) * \
                self.guide_loss(s_emb, t_emb.detach())
        if self.feedback_loss is not None:
            if self.feedback_gate == 'student_better':
                labels = batch_labels(data_samples, s_emb.device)
                gate = student_better_anchors(s_emb, t_emb, labels)
            else:
                gate = torch.ones(s_emb.size(0), device=s_emb.device)
            losses['loss_feedback'] = warmup_factor(it, self._feedback_warmup) * \
                self.feedback_loss(t_emb, s_emb.detach(), gate)
            losses['feedback_anchors'] = gate.mean().detach()
        if self.embedding_loss_weight > 0:
            projected = s_emb if self.projection is None else self.projection(s_emb)
            if projected.shape != t_emb.shape:
                raise ValueError(f'embedding term: student {tuple(projected.shape)} vs '
                                 f'teacher {tuple(t_emb.shape)}; set projection=True')
            diff = F.normalize(projected, dim=1) - F.normalize(t_emb.detach(), dim=1)
            losses['loss_embedding'] = self.embedding_loss_weight * \
                diff.pow(2).sum(1).mean()
        return losses


__all__ = ['MutualMetricDistill', 'embedding_dim', 'warmup_factor']
