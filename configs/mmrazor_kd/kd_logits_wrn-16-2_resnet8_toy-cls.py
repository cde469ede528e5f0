# Vanilla KD (Hinton et al. 2015: KL between temperature-softened logits, MMRazor's
# KLDivergence, tau=4) on the toy classification pair: a baseline of the M5 benchmark.
#   tools/train.py THIS --teacher-ckpt work_dirs/toy_cls_teacher/epoch_30.pth
# Loss weights of the toy classification rows: set with tools/benchmark/grad_balance.py
# (distillation gradient about 0.4-1x the task gradient at a trained no-KD student), one
# rule for every row.
# Re-set after the teacher-normalisation fix (issue 7): the first weights were measured
# with the teacher seeing raw pixels
# (benchmarks/history/2026-11-25-cls-teacher-raw-pixels/).
_base_ = ['../_base_/distill/toy_cls_wrn-16-2_to_resnet8.py']
kd_weight = 0.09
model = dict(distiller=dict(
    distill_losses=dict(loss_kd=dict(type='KLDivergence', tau=4, loss_weight=kd_weight)),
    loss_forward_mappings=dict(loss_kd=dict(
        preds_S=dict(from_student=True, recorder='logits'),
        preds_T=dict(from_student=False, recorder='logits')))))
