# M8 (mutual metric-learning distillation) on the toy retrieval pair: the trained
# teacher WRN-16-2 (512-d) and the student resnet8 (128-d) train together; the teacher
# guides the student's relational structure (distances, angles) and the student's
# structure feeds back into the teacher where the student separates the classes better.
# The teacher starts from its checkpoint trained alone and is fine-tuned at a tenth of
# the learning rate (the student's feedback must not undo it: a first protocol that
# trained both from scratch let it pull the teacher down to the student's level,
# benchmarks/history/2026-11-25-m8-from-scratch/).
#   python tools/train.py THIS --teacher-ckpt work_dirs/<teacher run>/epoch_60.pth
# Loss weights by the project's one rule (tools/benchmark/grad_balance.py: a distillation
# term pulls with about 0.7x the task gradient at the trained no-KD networks): guide 0.77x
# of the student's task gradient (--side student), feedback 0.79x of the teacher's
# (--side teacher), measured at the 60-epoch teacher and student trained alone.
_base_ = ['../_base_/distill/toy_retrieval_wrn-16-2_to_resnet8.py',
          '../_base_/distill/m8_relational.py']
model = dict(_base_.m8_model, feedback_warmup_iters=100)
optim_wrapper = dict(paramwise_cfg=dict(custom_keys=_base_.m8_custom_keys))
# The loss weights protocol v2's sweep scales together (x0.25 / x1 / x4, ../shared/BENCHMARKS.md rule 3).
sweep_weights = [
    'model.guide_loss.loss_weight',
    'model.feedback_loss.loss_weight'
]
