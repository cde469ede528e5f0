# M2 confidence-guided distillation on the toy RetinaNet pair (MobileNetV2 w1.0 -> w0.25,
# RetinaHead; issue 18's toy row for a second head family). The teacher's confidence
# (its best class score per anchor) gives temperature-scaled soft labels for the
# student's class maps, the anchors whose box deltas are distilled, and the neck regions
# to distil; the soft labels and confident boxes are also distilled on the teacher's
# head run on the student's adapted neck features (cross-head terms, as in the YOLOv3
# toy config). use_gt=False: no distillation term reads a ground-truth box.
#   python tools/train.py THIS --teacher-ckpt work_dirs/retina_teacher/epoch_12.pth
# Loss weights: tools/benchmark/grad_balance.py's rule (the distillation gradient about
# 0.4-1x the task gradient at a trained no-KD student), like every toy row: at the
# benchmark's teacher and a 3-epoch no-KD student, 4 batches, each of the neck, soft-label
# and confident-box terms pulls with 0.12x the task gradient, the cross-head terms (same
# weights as on the student's head) 0.07x and 0.35x: 0.78x in all. At weight 1 the
# soft-label term pulled 7500x (it sums over every anchor and class).
_base_ = ['../_base_/distill/retinanet_mbv2_w100_to_w025_toy-det.py']
use_gt = False
temperature = 2.0  # soft-label temperature
conf_thr = 0.3  # teacher confidence that selects an anchor
weight = dict(neck=0.004, soft=1.6e-5, reg=0.2)  # grad_balance.py: see above
levels = range(_base_.num_levels)
head = _base_.head_type
model = dict(
    type='ConfidenceGuidedDistill',
    use_gt=use_gt,
    distiller=dict(
        connectors={
            f'x{out}{i}': dict(type='TeacherHeadConnector', head_type=head, level=i,
                               in_channel=_base_.student_channels,
                               out_channel=_base_.teacher_channels, output=out)
            for out in ('cls', 'reg') for i in levels
        },
        distill_losses=dict(
            **{
                f'loss_neck{i}': dict(type='ConfidenceMaskedFeatureLoss', head_type=head,
                                      conf_thr=conf_thr, bg_weight=0.1,
                                      loss_weight=weight['neck'], normalize=True)
                for i in levels
            },
            **{
                f'loss_{x}soft{i}': dict(type='ConfidenceSoftLabelLoss', head_type=head,
                                         temperature=temperature,
                                         loss_weight=weight['soft'])
                for x in ('', 'x') for i in levels
            },
            **{
                f'loss_{x}reg{i}': dict(type='ConfidentRegressionLoss', head_type=head,
                                        conf_thr=conf_thr, loss_weight=weight['reg'])
                for x in ('', 'x') for i in levels
            }),
        loss_forward_mappings=dict(
            **{
                f'loss_neck{i}': dict(
                    conf_T=dict(from_student=False, **_base_.head_in[f'cls{i}']))
                for i in levels
            },
            **{
                f'loss_soft{i}': dict(
                    preds_S=dict(from_student=True, **_base_.head_in[f'cls{i}']),
                    preds_T=dict(from_student=False, **_base_.head_in[f'cls{i}']))
                for i in levels
            },
            **{
                f'loss_reg{i}': dict(
                    preds_S=dict(from_student=True, **_base_.head_in[f'box{i}']),
                    preds_T=dict(from_student=False, **_base_.head_in[f'box{i}']),
                    conf_T=dict(from_student=False, **_base_.head_in[f'cls{i}']))
                for i in levels
            },
            **{
                f'loss_xsoft{i}': dict(
                    preds_S=dict(from_student=True, recorder='neck', data_idx=i,
                                 connector=f'xcls{i}'),
                    preds_T=dict(from_student=False, **_base_.head_in[f'cls{i}']))
                for i in levels
            },
            **{
                f'loss_xreg{i}': dict(
                    preds_S=dict(from_student=True, recorder='neck', data_idx=i,
                                 connector=f'xreg{i}'),
                    preds_T=dict(from_student=False, **_base_.head_in[f'box{i}']),
                    conf_T=dict(from_student=False, **_base_.head_in[f'cls{i}']))
                for i in levels
            })))
