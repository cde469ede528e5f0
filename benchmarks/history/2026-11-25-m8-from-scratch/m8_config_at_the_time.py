# M8 (mutual metric-learning distillation) on the toy retrieval pair: teacher WRN-16-2
# (512-d) and student resnet8 (128-d) train together from the same initialisation as
# when trained alone; the teacher guides the student's relational structure (distances,
# angles) and the student's structure feeds back into the teacher where the student
# separates the classes better.
#   python tools/train.py THIS  (toy data: tools/make_toy_data.py retrieval)
# Loss weights by the project's one rule (tools/benchmark/grad_balance.py: a distillation
# term pulls with about 0.7x the task gradient at the trained no-KD networks): guide 0.77x
# of the student's task gradient (--side student), feedback 0.79x of the teacher's
# (--side teacher), measured at the 60-epoch teacher and student trained alone.
_base_ = ['../_base_/distill/toy_retrieval_wrn-16-2_to_resnet8.py',
          '../_base_/distill/m8_relational.py']
model = dict(_base_.m8_model, feedback_warmup_iters=100)
# The M8 terms shared by every pair: guide (student -> teacher's relational structure)
# and gated feedback (teacher -> student's, where the student separates the classes
# better), distance and angle weighted 1 : 2 as in relational KD. A named variable,
# merged into a pair's `model` by
#   model = dict(_base_.m8_model, feedback_warmup_iters=N)
# Weights by the project's one rule (tools/benchmark/grad_balance.py: a distillation term
# pulls with about 0.7x the task gradient at the trained no-KD networks), measured on
# the toy pair at the 60-epoch teacher and student trained alone: guide 0.77x of the
# student's task gradient (--side student), feedback 0.79x of the teacher's (--side
# teacher).
guide_weight = 1.7
feedback_weight = 2.5
m8_model = dict(
    type='MutualMetricDistill',
    guide_loss=dict(type='MutualRelationalLoss', distance_weight=1.0, angle_weight=2.0,
                    loss_weight=guide_weight),
    feedback_loss=dict(type='MutualRelationalLoss', distance_weight=1.0,
                       angle_weight=2.0, loss_weight=feedback_weight),
    feedback_gate='student_better')
