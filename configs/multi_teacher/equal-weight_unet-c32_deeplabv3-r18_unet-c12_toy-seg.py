# Baseline: equal-weight multi-teacher pixel KD on the toy segmentation data (the same
# two teachers, student and temperature as M6; every teacher weighs 1/2 on every image,
# every pixel weighs 1, no feature term). Loss weight by the grad_balance.py rule of every
# row (distillation gradient ~0.7x the task gradient at the trained no-KD student: 1.95x
# at 1.0 -> 0.36).
_base_ = ['../_base_/distill/m6_toy_seg.py']
model = dict(
    distill_loss=dict(type='BoundaryAwareMultiTeacherKDLoss', tau=1.0, band_width=0,
                      boundary_weight=0.0, quality='equal', loss_weight=0.36),
    feature_loss_weight=0.0)
# The loss weights protocol v2's sweep scales together (x0.25 / x1 / x4, ../shared/BENCHMARKS.md rule 3).
sweep_weights = [
    'model.distill_loss.loss_weight'
]
