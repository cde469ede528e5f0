# M2 confidence-guided distillation, YOLOX-s (teacher) -> YOLOX-tiny (student), COCO.
# The teacher's confidence (its best class score per anchor times its objectness) gives
# temperature-scaled soft labels for the student's class maps and objectness maps, the
# anchors whose box outputs are distilled (YOLOXHead layout,
# kd_plugins.models.losses.detection_heads), and the neck regions to distil.
# use_gt=False: no distillation term reads a ground-truth box. Loss weights are untuned
# starting points at COCO scale (the soft-label term sums over every anchor and class,
# hence 1e-3).
#   tools/dist_train.sh THIS 8 --teacher-ckpt /path/to/yolox_s_8xb8-300e_coco.pth
_base_ = ['../_base_/distill/yolox_s_to_tiny_coco.py']
use_gt = False
temperature = 2.0  # soft-label temperature
conf_thr = 0.5  # teacher confidence that selects a location
model = dict(
    type='ConfidenceGuidedDistill',
    use_gt=use_gt,
    distiller=dict(
        distill_losses=dict(
            **{
                f'loss_neck{i}': dict(type='ConfidenceMaskedFeatureLoss',
                                      head_type=_base_.head_type, conf_thr=conf_thr,
                                      bg_weight=0.1, loss_weight=1.0, normalize=True)
                for i in range(_base_.num_levels)
            },
            **{
                f'loss_{kind}_soft{i}': dict(type='ConfidenceSoftLabelLoss',
                                             head_type=_base_.head_type,
                                             temperature=temperature, loss_weight=1e-3)
                for kind in ('cls', 'obj') for i in range(_base_.num_levels)
            },
            **{
                f'loss_reg{i}': dict(type='ConfidentRegressionLoss',
                                     head_type=_base_.head_type, conf_thr=conf_thr,
                                     loss_weight=1.0)
                for i in range(_base_.num_levels)
            }),
        loss_forward_mappings=dict(
            **{
                f'loss_neck{i}': dict(
                    preds_S=dict(from_student=True, recorder='neck', data_idx=i,
                                 connector=f'neck{i}_s'),
                    preds_T=dict(from_student=False, recorder='neck', data_idx=i),
                    conf_T=dict(from_student=False, **_base_.head_in[f'cls{i}']),
                    obj_T=dict(from_student=False, **_base_.head_in[f'obj{i}']))
                for i in range(_base_.num_levels)
            },
            **{
                f'loss_{kind}_soft{i}': dict(
                    preds_S=dict(from_student=True, **_base_.head_in[f'{kind}{i}']),
                    preds_T=dict(from_student=False, **_base_.head_in[f'{kind}{i}']))
                for kind in ('cls', 'obj') for i in range(_base_.num_levels)
            },
            **{
                f'loss_reg{i}': dict(
                    preds_S=dict(from_student=True, **_base_.head_in[f'box{i}']),
                    preds_T=dict(from_student=False, **_base_.head_in[f'box{i}']),
                    conf_T=dict(from_student=False, **_base_.head_in[f'cls{i}']),
                    obj_T=dict(from_student=False, **_base_.head_in[f'obj{i}']))
                for i in range(_base_.num_levels)
            })))
