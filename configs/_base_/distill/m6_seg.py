# M6 settings shared by the real-data M6 configs (configs/multi_teacher/m6_*): named
# variables only, so that a config can take this file next to an mmseg dataset base.
#
#   m6_model                the algorithm without its models: a config adds
#                           `architecture`, `teachers` and `student_feature`
#   seg_boundary_evaluator  mIoU + mDice (mmseg's IoUMetric) and the boundary F-score
#                           within 2 px (kd_plugins' BoundaryFScore), as on the toy data
#
# The loss settings are the toy M6 config's (configs/multi_teacher/m6_unet-c32_deeplabv3-
# r18_unet-c12_toy-seg.py): per-image teacher weights from label agreement (softmax over
# the teachers at temperature 0.1), pixels within band_width px of a label boundary
# weighted 1 + 2, tau 1, pixel and feature terms at weight 0.12 (set on the toy pair by
# the grad_balance.py rule). None of it was tuned on real data: before a long run,
# check how hard each term pulls with
#   python tools/benchmark/grad_balance.py CFG --student-ckpt S.pth \
#       --cfg-options model.teachers.<name>.ckpt_path=T.pth ...
m6_model = dict(
    _scope_='mmrazor',
    type='BoundaryAwareMultiTeacherDistill',
    distill_loss=dict(type='BoundaryAwareMultiTeacherKDLoss', tau=1.0, band_width=3,
                      boundary_weight=2.0, quality='auto', weight_temperature=0.1,
                      loss_weight=0.12),
    feature_loss_weight=0.12,
    # the build-time probe that reads feature widths (any size the models accept)
    probe_shape=(64, 64))
seg_boundary_evaluator = [dict(type='IoUMetric', iou_metrics=['mIoU', 'mDice']),
                          dict(type='BoundaryFScore', tolerance=2)]
find_unused_parameters = True
