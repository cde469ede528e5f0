# MMRazor's channel-wise distillation (CWD, Shu et al. ICCV 2021: per-channel spatial
# softmax, KL) on the last backbone stage of the toy classification pair, a 1x1 conv
# adapting the student's 64 channels to the teacher's 128: a baseline of the M5 benchmark.
#   tools/train.py THIS --teacher-ckpt work_dirs/toy_cls_teacher/epoch_30.pth
# Loss weight: tools/benchmark/grad_balance.py rule (see the KD baseline's header).
# Re-set after the teacher-normalisation fix (issue 7): the first weights were measured
# with the teacher seeing raw pixels
# (benchmarks/history/2026-11-25-cls-teacher-raw-pixels/).
_base_ = ['../_base_/distill/toy_cls_wrn-16-2_to_resnet8.py']
cwd_weight = 2.0
model = dict(distiller=dict(
    connectors=dict(stage2_s=dict(type='ConvModuleConnector', in_channel=64,
                                  out_channel=128, kernel_size=1, act_cfg=None,
                                  norm_cfg=None)),
    distill_losses=dict(loss_cwd=dict(type='ChannelWiseDivergence', tau=4,
                                      loss_weight=cwd_weight)),
    loss_forward_mappings=dict(loss_cwd=dict(
        preds_S=dict(from_student=True, recorder='stages', data_idx=2,
                     connector='stage2_s'),
        preds_T=dict(from_student=False, recorder='stages', data_idx=2)))))
