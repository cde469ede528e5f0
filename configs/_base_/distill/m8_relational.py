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
# The teacher (started from its trained checkpoint, teacher_ckpt) learns at a tenth of the
# schedule's rate: `optim_wrapper = dict(paramwise_cfg=dict(custom_keys=_base_.
# m8_custom_keys))` (parameter names of the teacher start with 'teacher.').
teacher_lr_mult = 0.1
m8_custom_keys = {'teacher.': dict(lr_mult=teacher_lr_mult)}
guide_weight = 1.7
feedback_weight = 2.5
m8_model = dict(
    type='MutualMetricDistill',
    guide_loss=dict(type='MutualRelationalLoss', distance_weight=1.0, angle_weight=2.0,
                    loss_weight=guide_weight),
    feedback_loss=dict(type='MutualRelationalLoss', distance_weight=1.0,
                       angle_weight=2.0, loss_weight=feedback_weight),
    feedback_gate='student_better')
