"""Semi-supervised adaptive detection distillation (method M3 of DESIGN.md).

M2 (:class:`ConfidenceGuidedDistill` with ``use_gt=False``) needs no box to distil, so
it can distil on unlabeled images too. :class:`SemiAdaptiveDistill` trains on mixed
batches made with mmdet's semi-supervised data pieces:

- each dataset's pipeline ends in mmdet's ``MultiBranch``: labeled images fill the
  ``sup`` branch, unlabeled ones the ``unsup`` branch;
- a ``ConcatDataset`` of the two with a multi-source sampler (mmdet's
  ``MultiSourceSampler`` or kd_plugins' checked ``SemiMultiSourceSampler``) sets the
  labeled:unlabeled ratio of every batch.

Per iteration:

- ``sup`` images: teacher forward (no grad), student task loss with the labels, and
  the distillation losses (``distill.*``);
- ``unsup`` images: teacher forward and student forward in ``tensor`` mode (network
  outputs only: no target assignment, no task loss) and the distillation losses
  (``unsup.distill.*``, times ``unsup_weight``). Their data samples are rebuilt from
  the image meta information alone before anything touches them, so no ground-truth
  field of an unlabeled sample is ever read, and an unlabeled image costs no more than
  a labeled one.

The adaptive part is the loss: :class:`AdaptiveSoftLabelLoss` weights every soft-label
term by how hard it is for the teacher (entropy) and for the student (divergence).

Config (see ``configs/semi_adaptive/``)::

    model = dict(type='SemiAdaptiveDistill', use_gt=False, unsup_weight=1.0, ...)
    branch_field = ['sup', 'unsup']
    labeled = dict(..., pipeline=[..., dict(type='MultiBranch',
                   branch_field=branch_field, sup=dict(type='PackDetInputs'))])
    unlabeled = dict(..., pipeline=[..., dict(type='MultiBranch',
                     branch_field=branch_field, unsup=dict(type='PackDetInputs'))])
    train_dataloader = dict(
        batch_size=16, sampler=dict(type='SemiMultiSourceSampler', batch_size=16,
                                    source_ratio=[1, 1]),
        dataset=dict(type='ConcatDataset', datasets=[labeled, unlabeled]))
"""
from typing import Dict, List, Optional, Sequence, Union

import torch
from mmengine.logging import print_log
from mmrazor.models.utils import add_prefix
from mmrazor.registry import MODELS
from torch import nn

from ..utils.config_checks import DistillConfigError, check_number
from .confidence_guided_distill import ConfidenceGuidedDistill
from .preprocess_aware_distill import TeacherInputsPreprocessor, WrappedPreprocessor


def meta_only(samples: Optional[Sequence]) -> Optional[List]:
    """Each data sample rebuilt from its meta information alone (no gt field)."""
    if samples is None:
        return None
    return [type(s)(metainfo=s.metainfo) for s in samples]


class MultiBranchPreprocessor(WrappedPreprocessor):
    """Prepares mmdet's multi-branch batches branch by branch with ``inner``.

    ``MultiBranch`` samples collate to ``{'inputs': {branch: [img or None, ...]},
    'data_samples': {branch: [...]}}``; each branch's images go through ``inner`` (the
    student's preprocessor, or :class:`TeacherInputsPreprocessor` which also prepares
    the teacher's view). The samples of the ``label_free`` branches are rebuilt from
    their meta information first. Anything else (validation, plain batches) goes
    straight to ``inner``.
    """
    _wrapped = 'inner'

    def __init__(self, inner: nn.Module, label_free: Sequence[str] = ()):
        super().__init__()
        self.inner = inner
        self.label_free = tuple(label_free)

    def forward(self, data: dict, training: bool = False) -> Union[dict, list]:
        inputs = data.get('inputs') if isinstance(data, dict) else None
        if not training or not isinstance(inputs, dict):
            return self.inner(data, training)
        samples = data.get('data_samples') or {}
        out_inputs, out_samples = {}, {}
        for branch, images in inputs.items():
            keep = [i for i, img in enumerate(images) if img is not None]
            if not keep:
                continue
            b_samples = samples.get(branch)
            if b_samples is not None:
                b_samples = [b_samples[i] for i in keep]
                if branch in self.label_free:
                    b_samples = meta_only(b_samples)
            b_data = dict(inputs=[images[i] for i in keep], data_samples=b_samples)
            if isinstance(self.inner, TeacherInputsPreprocessor):
                out = self.inner(b_data, training, append=bool(out_inputs))
            else:
                out = self.inner(b_data, training)
            out_inputs[branch] = out['inputs']
            out_samples[branch] = out['data_samples']
        return dict(inputs=out_inputs, data_samples=out_samples)


@MODELS.register_module()
class SemiAdaptiveDistill(ConfidenceGuidedDistill):
    """Confidence-guided distillation on labeled + unlabeled batches (M3).

    Args:
        sup_branch (str): ``MultiBranch`` branch of the labeled images (``'sup'``).
        unsup_branch (str): branch of the unlabeled images (``'unsup'``).
        unsup_weight (float): >= 0, weight of the distillation losses on unlabeled
            images (1.0: an unlabeled image counts like a labeled one).
        Others: as :class:`ConfidenceGuidedDistill` (``use_gt`` applies to the labeled
            images only; the unlabeled ones never carry boxes).

    A plain (single-branch) batch is treated as labeled, so the same model trains and
    validates with ordinary detection dataloaders.
    """

    def __init__(self, *args, sup_branch: str = 'sup', unsup_branch: str = 'unsup',
                 unsup_weight: float = 1.0, **kwargs):
        for field, value in (('sup_branch', sup_branch), ('unsup_branch', unsup_branch)):
            if not isinstance(value, str) or not value:
                raise DistillConfigError(f'{field} must be a branch name, got {value!r}')
        if sup_branch == unsup_branch:
            raise DistillConfigError(
                f'sup_branch and unsup_branch are both {sup_branch!r}; labeled and '
                'unlabeled images need their own MultiBranch branch')
        unsup_weight = check_number(unsup_weight, 'unsup_weight',
                                    error=DistillConfigError)
        super().__init__(*args, **kwargs)
        self.sup_branch, self.unsup_branch = sup_branch, unsup_branch
        self.unsup_weight = unsup_weight
        self.data_preprocessor = MultiBranchPreprocessor(
            self.data_preprocessor, label_free=(unsup_branch, ))
        self._warned_no_unsup = False

    def loss(self, batch_inputs: Union[torch.Tensor, Dict[str, torch.Tensor]],
             data_samples: Optional[Union[List, Dict[str, List]]] = None) -> dict:
        if not isinstance(batch_inputs, dict):
            return super().loss(batch_inputs, data_samples)
        data_samples = data_samples or {}
        known = (self.sup_branch, self.unsup_branch)
        unknown = sorted(set(batch_inputs) - set(known))
        if unknown:
            raise ValueError(
                f'the training batch has branches {sorted(batch_inputs)}, '
                f'SemiAdaptiveDistill reads {list(known)} (labeled, unlabeled): make '
                "MultiBranch's branch_field and the model's sup_branch / unsup_branch "
                'agree')
        losses = dict()
        if self.sup_branch in batch_inputs:
            losses.update(super().loss(batch_inputs[self.sup_branch],
                                       data_samples.get(self.sup_branch)))
        if self.unsup_branch in batch_inputs:
            losses.update(add_prefix(
                self.unlabeled_loss(batch_inputs[self.unsup_branch],
                                    data_samples.get(self.unsup_branch)), 'unsup'))
        elif not self._warned_no_unsup:
            self._warned_no_unsup = True
            print_log(f'SemiAdaptiveDistill: a training batch holds no '
                      f'{self.unsup_branch!r} (unlabeled) images; check the sampler\'s '
                      'source_ratio and the unlabeled dataset', logger='current',
                      level=30)
        return losses

    def unlabeled_loss(self, batch_inputs: torch.Tensor,
                       data_samples: Optional[List]) -> dict:
        """Distillation losses on unlabeled images: both networks in tensor mode."""
        if self.distillation_stopped:
            return dict()
        t_inputs, t_samples = self.teacher_batch(batch_inputs, data_samples)
        self.distiller.set_deliveries_override(False)
        with self.distiller.teacher_recorders, self.distiller.deliveries, \
                torch.no_grad():
            self.teacher(t_inputs, t_samples, mode='tensor')
        self.distiller.set_deliveries_override(True)
        with self.distiller.student_recorders, self.distiller.deliveries:
            self.student(batch_inputs, data_samples, mode='tensor')
        # data_samples=None: no distillation term is handed a gt box
        losses = self.compute_distill_losses(batch_inputs, None)
        return {f'distill.{k}': v * self.unsup_weight for k, v in losses.items()}
