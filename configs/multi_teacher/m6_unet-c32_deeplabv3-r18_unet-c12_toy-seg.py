# M6 on the toy segmentation data: UNet-32 + DeepLabV3-R18 teachers -> UNet-12 student.
# Per-image teacher weights from label agreement (softmax over teachers at temperature
# 0.1), pixels within 3 px of a label boundary weighted 1 + 2, plus the feature term
# (decode-head features through 1x1 adapters). Teacher checkpoints:
#   --cfg-options model.teachers.unet.ckpt_path=U.pth model.teachers.dlv3.ckpt_path=D.pth
# Loss weights by the grad_balance.py rule of every row (both terms together pull with
# ~0.7x the task gradient at the trained no-KD student: 5.9x at 1.0 / 1.0 -> 0.12 each).
_base_ = ['../_base_/distill/m6_toy_seg.py']
model = dict(
    distill_loss=dict(type='BoundaryAwareMultiTeacherKDLoss', tau=1.0, band_width=3,
                      boundary_weight=2.0, quality='auto', weight_temperature=0.1,
                      loss_weight=0.12),
    feature_loss_weight=0.12)
# The loss weights protocol v2's sweep scales together (x0.25 / x1 / x4, ../shared/BENCHMARKS.md rule 3).
sweep_weights = [
    'model.distill_loss.loss_weight',
    'model.feature_loss_weight'
]
