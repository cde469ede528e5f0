# M2 confidence-guided distillation, Faster R-CNN R101-FPN (2x) -> R50-FPN (1x), COCO.
# The teacher's RPN objectness gives soft labels for the student's RPN, the anchors
# whose box deltas are distilled, and the FPN regions to distil (all five levels); the
# teacher's RoI head, run on the student's sampled RoIs, gives per-RoI soft class labels
# and box targets weighted by its foreground probability. use_gt=False: no
# distillation term reads a ground-truth box. Loss weights are starting points (not tuned
# at COCO scale on this project's machines).
#   tools/dist_train.sh THIS 8 --teacher-ckpt /path/to/faster-rcnn_r101_fpn_2x_coco.pth
_base_ = ['../detectors/faster-rcnn_r50_fpn_1x_coco.py']

teacher_ckpt = None  # local path; set with --teacher-ckpt or --cfg-options
teacher_cfg = 'kd_plugins::detectors/faster-rcnn_r101_fpn_2x_coco.py'
use_gt = False
temperature = 2.0
conf_thr = 0.5
num_levels = 5

model = dict(
    _delete_=True,
    _scope_='mmrazor',
    type='ConfidenceGuidedDistill',
    architecture=_base_.model,
    teacher=dict(cfg_path=teacher_cfg),
    teacher_ckpt=teacher_ckpt,
    use_gt=use_gt,
    teacher_roi=dict(student_rois='rois', teacher_feats='fpn', teacher_outputs='roi_out'),
    distiller=dict(
        type='ConfigurableDistiller',
        student_recorders=dict(fpn=dict(type='ModuleOutputs', source='neck'),
                               rpn_cls=dict(type='ModuleOutputs',
                                            source='rpn_head.rpn_cls'),
                               rpn_reg=dict(type='ModuleOutputs',
                                            source='rpn_head.rpn_reg'),
                               rois=dict(type='ModuleInputs',
                                         source='roi_head.bbox_roi_extractor'),
                               roi_out=dict(type='ModuleOutputs',
                                            source='roi_head.bbox_head')),
        teacher_recorders=dict(fpn=dict(type='ModuleOutputs', source='neck'),
                               rpn_cls=dict(type='ModuleOutputs',
                                            source='rpn_head.rpn_cls'),
                               rpn_reg=dict(type='ModuleOutputs',
                                            source='rpn_head.rpn_reg'),
                               roi_out=dict(type='ModuleOutputs',
                                            source='roi_head.bbox_head')),
        distill_losses=dict(**{
            f'loss_fpn{i}':
            dict(type='ConfidenceMaskedFeatureLoss',
                 head_type='RPNHead',
                 conf_thr=conf_thr,
                 bg_weight=0.1,
                 loss_weight=1.0)
            for i in range(num_levels)
        },
                            **{
                                f'loss_rpn_soft{i}':
                                dict(type='ConfidenceSoftLabelLoss',
                                     head_type='RPNHead',
                                     temperature=temperature,
                                     loss_weight=1e-3)
                                for i in range(num_levels)
                            },
                            **{
                                f'loss_rpn_reg{i}':
                                dict(type='ConfidentRegressionLoss',
                                     head_type='RPNHead',
                                     conf_thr=conf_thr,
                                     loss_weight=1.0)
                                for i in range(num_levels)
                            },
                            loss_roi_soft=dict(type='ConfidenceSoftLabelLoss',
                                               head_type='Shared2FCBBoxHead',
                                               temperature=temperature,
                                               loss_weight=1.0),
                            loss_roi_reg=dict(type='ConfidentRegressionLoss',
                                              head_type='Shared2FCBBoxHead',
                                              conf_thr=conf_thr,
                                              loss_weight=1.0)),
        loss_forward_mappings=dict(**{
            f'loss_fpn{i}':
            dict(preds_S=dict(from_student=True, recorder='fpn', data_idx=i),
                 preds_T=dict(from_student=False, recorder='fpn', data_idx=i),
                 conf_T=dict(from_student=False, recorder='rpn_cls', record_idx=i))
            for i in range(num_levels)
        },
                                   **{
                                       f'loss_rpn_soft{i}':
                                       dict(preds_S=dict(from_student=True,
                                                         recorder='rpn_cls',
                                                         record_idx=i),
                                            preds_T=dict(from_student=False,
                                                         recorder='rpn_cls',
                                                         record_idx=i))
                                       for i in range(num_levels)
                                   },
                                   **{
                                       f'loss_rpn_reg{i}':
                                       dict(preds_S=dict(from_student=True,
                                                         recorder='rpn_reg',
                                                         record_idx=i),
                                            preds_T=dict(from_student=False,
                                                         recorder='rpn_reg',
                                                         record_idx=i),
                                            conf_T=dict(from_student=False,
                                                        recorder='rpn_cls',
                                                        record_idx=i))
                                       for i in range(num_levels)
                                   },
                                   loss_roi_soft=dict(preds_S=dict(from_student=True,
                                                                   recorder='roi_out',
                                                                   data_idx=0),
                                                      preds_T=dict(from_student=False,
                                                                   recorder='roi_out',
                                                                   data_idx=0)),
                                   loss_roi_reg=dict(preds_S=dict(from_student=True,
                                                                  recorder='roi_out',
                                                                  data_idx=1),
                                                     preds_T=dict(from_student=False,
                                                                  recorder='roi_out',
                                                                  data_idx=1),
                                                     conf_T=dict(from_student=False,
                                                                 recorder='roi_out',
                                                                 data_idx=0)))))
find_unused_parameters = True
