"""Confidence-guided detection distillation (method M2 of DESIGN.md), the training step.

What differs from :class:`PreprocessAwareDistill`:

- ``use_gt``: ground-truth boxes reach the distillation terms (the foreground of
  :class:`ConfidenceMaskedFeatureLoss`) only when this is True. With ``use_gt=False``
  nothing in the distillation losses reads a ground-truth box: the teacher's confidence
  alone picks the regions, so the same config distils on unlabeled images (M3 builds on
  it). The student's own task loss is separate (``calculate_student_loss``).
- ``teacher_roi``: for two-stage detectors, the teacher's RoI head is run (no grad) on
  the *student's* sampled RoIs, so that RoI class scores and box outputs of both refer to
  the same boxes and can be compared one to one (soft labels per RoI). The student's RoIs
  come from a ``ModuleInputs`` recorder on its ``roi_head.bbox_roi_extractor``; the
  teacher's RoI outputs land in a ``ModuleOutputs`` recorder on its
  ``roi_head.bbox_head``, where the loss mappings read them.

Config::

    model = dict(
        type='ConfidenceGuidedDistill',
        use_gt=False,
        teacher_roi=dict(student_rois='rois', teacher_feats='fpn',
                         teacher_outputs='roi_out'),
        distiller=dict(
            student_recorders=dict(rois=dict(type='ModuleInputs',
                                             source='roi_head.bbox_roi_extractor'), ...),
            teacher_recorders=dict(roi_out=dict(type='ModuleOutputs',
                                                source='roi_head.bbox_head'), ...),
            ...), ...)
"""
from typing import List, Optional

import torch
from mmrazor.registry import MODELS

from ..utils.config_checks import DistillConfigError
from .preprocess_aware_distill import PreprocessAwareDistill


@MODELS.register_module()
class ConfidenceGuidedDistill(PreprocessAwareDistill):
    """Distillation guided by the teacher's confidence, with a no-ground-truth switch.

    Args:
        use_gt (bool): let ground-truth boxes into the distillation terms that can use
            them (default True). False: the distillation losses never see a gt box.
        teacher_roi (dict, optional): ``student_rois`` (student recorder of the RoI
            extractor's inputs), ``teacher_feats`` (teacher recorder of the neck
            outputs) and ``teacher_outputs`` (teacher recorder of ``roi_head.bbox_head``)
            to run the teacher's RoI head on the student's RoIs.
        Others: as :class:`PreprocessAwareDistill`.
    """

    def __init__(self, *args, use_gt: bool = True,
                 teacher_roi: Optional[dict] = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.use_gt = bool(use_gt)
        self.teacher_roi = self._check_teacher_roi(teacher_roi)

    def _check_teacher_roi(self, cfg: Optional[dict]) -> Optional[dict]:
        if cfg is None:
            return None
        need = ('student_rois', 'teacher_feats', 'teacher_outputs')
        missing = [k for k in need if k not in cfg]
        if missing:
            raise DistillConfigError(f'teacher_roi: missing {missing}; it needs {need}')
        recs = dict(student_rois=self.distiller.student_recorders,
                    teacher_feats=self.distiller.teacher_recorders,
                    teacher_outputs=self.distiller.teacher_recorders)
        for key, manager in recs.items():
            if cfg[key] not in manager.recorders:
                raise DistillConfigError(
                    f'teacher_roi.{key}={cfg[key]!r} is not a recorder of the distiller '
                    f'(has {sorted(manager.recorders)})')
        if not hasattr(getattr(self.teacher, 'roi_head', None), '_bbox_forward'):
            raise DistillConfigError(
                'teacher_roi: the teacher has no roi_head with a bbox branch '
                f'({type(self.teacher).__name__}); remove teacher_roi for one-stage '
                'detectors')
        return dict(cfg)

    def gt_boxes(self, batch_inputs: torch.Tensor, data_samples: Optional[List]):
        """Ground-truth boxes per image and the batch input size, or None."""
        if not self.use_gt or not data_samples:
            return None, None
        boxes = []
        for sample in data_samples:
            inst = getattr(sample, 'gt_instances', None)
            b = getattr(inst, 'bboxes', None) if inst is not None else None
            if b is None:
                b = batch_inputs.new_zeros((0, 4))
            boxes.append(getattr(b, 'tensor', b))
        return boxes, tuple(batch_inputs.shape[-2:])

    def run_teacher_on_student_rois(self):
        """Teacher RoI head on the student's RoIs, recorded for the loss mappings."""
        cfg = self.teacher_roi
        s_rec = self.distiller.student_recorders.get_recorder(cfg['student_rois'])
        rois = s_rec.get_record_data(record_idx=0, data_idx=1).detach()
        t_feats = self.distiller.teacher_recorders.get_recorder(
            cfg['teacher_feats']).get_record_data(record_idx=0)
        out_rec = self.distiller.teacher_recorders.get_recorder(cfg['teacher_outputs'])
        with out_rec, torch.no_grad():
            self.teacher.roi_head._bbox_forward(tuple(t_feats), rois)

    def compute_distill_losses(self, batch_inputs: torch.Tensor,
                               data_samples: Optional[List]) -> dict:
        if self.teacher_roi is not None:
            self.run_teacher_on_student_rois()
        gt_losses = [m for m in self.distiller.distill_losses.values()
                     if getattr(m, 'uses_gt', False)]
        if not gt_losses:
            return super().compute_distill_losses(batch_inputs, data_samples)
        boxes, input_hw = self.gt_boxes(batch_inputs, data_samples)
        for module in gt_losses:
            module.set_gt(boxes, input_hw)
        try:
            return super().compute_distill_losses(batch_inputs, data_samples)
        finally:
            for module in gt_losses:
                module.set_gt(None)
