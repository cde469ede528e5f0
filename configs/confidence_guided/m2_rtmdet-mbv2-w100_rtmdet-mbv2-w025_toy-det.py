# M2 confidence-guided distillation on the toy RTMDet pair (MobileNetV2 w1.0 -> w0.25,
# CSPNeXt-PAFPN + RTMDetSepBNHead; issue 18's toy row for a second head family). The
# teacher's confidence (its best class score per location) gives temperature-scaled soft
# labels for the student's class maps, the locations whose side distances are distilled,
# and the neck regions to distil: the terms of the COCO RTMDet-s -> tiny config (the
# cross-head terms are not wired for RTMDet heads). use_gt=False: no distillation term
# reads a ground-truth box.
#   python tools/train.py THIS --teacher-ckpt work_dirs/rtmdet_teacher/epoch_12.pth
# Loss weights: tools/benchmark/grad_balance.py's rule (the distillation gradient about
# 0.4-1x the task gradient at a trained no-KD student), like every toy row: at the
# benchmark's teacher and a 3-epoch no-KD student, 4 batches, each of the neck,
# soft-label and confident-box terms pulls with about 0.25x the task gradient, 0.75x in
# all (the RetinaNet toy row's total is 0.78x).
_base_ = ['../_base_/distill/rtmdet_mbv2_w100_to_w025_toy-det.py']
use_gt = False
temperature = 2.0  # soft-label temperature
conf_thr = 0.3  # teacher confidence that selects a location
weight = dict(neck=0.012, soft=5.3e-4, reg=0.023)  # grad_balance.py: see above
levels = range(_base_.num_levels)
head = _base_.head_type
model = dict(
    type='ConfidenceGuidedDistill',
    use_gt=use_gt,
    distiller=dict(
        distill_losses=dict(
            **{
                f'loss_neck{i}': dict(type='ConfidenceMaskedFeatureLoss', head_type=head,
                                      conf_thr=conf_thr, bg_weight=0.1,
                                      loss_weight=weight['neck'], normalize=True)
                for i in levels
            },
            **{
                f'loss_soft{i}': dict(type='ConfidenceSoftLabelLoss', head_type=head,
                                      temperature=temperature, loss_weight=weight['soft'])
                for i in levels
            },
            **{
                f'loss_reg{i}': dict(type='ConfidentRegressionLoss', head_type=head,
                                     conf_thr=conf_thr, loss_weight=weight['reg'])
                for i in levels
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
            })))
