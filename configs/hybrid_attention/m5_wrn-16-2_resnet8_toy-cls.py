# M5 hybrid attention transfer with channel selection on the toy classification pair:
# spatial + channel attention at the three backbone stages; the teacher (32 / 64 / 128
# channels) keeps its 16 / 32 / 64 most active channels (ActiveChannelSelector, running
# activation statistics) to match the student's widths; plus logit KD (tau=4).
#   tools/train.py THIS --teacher-ckpt work_dirs/toy_cls_teacher/epoch_30.pth
# Channel attention compares the sorted activity profiles (channel_pairing='sorted'):
# the benchmark's first run paired student channel i with selected teacher channel i and
# was kept in benchmarks/history/2026-11-25-m5-index-pairing/.
# Loss weights: tools/benchmark/grad_balance.py rule (see the KD baseline's header): the
# summed distillation gradient ~0.7x the task gradient, like every row; half of it for
# logit KD (half the KD row's weight), half for the attention terms.
# Re-set after the teacher-normalisation fix (issue 7): the first weights were measured
# with the teacher seeing raw pixels
# (benchmarks/history/2026-11-25-cls-teacher-raw-pixels/).
_base_ = ['../mmrazor_kd/kd_logits_wrn-16-2_resnet8_toy-cls.py']
kd_weight = 0.045
ha_weight = 0.35
model = dict(
    type='HybridAttentionDistill',
    stages=(0, 1, 2),
    num_selected=None,  # None: the student's width at each stage
    attention_loss=dict(type='HybridAttentionLoss', p=2, spatial_weight=1.0,
                        channel_weight=1.0, channel_pairing='sorted',
                        loss_weight=ha_weight),
    selector=dict(momentum=0.1),
    probe_shape=(3, 32, 32),
    distiller=dict(distill_losses=dict(loss_kd=dict(loss_weight=kd_weight))))
# The loss weights protocol v2's sweep scales together (x0.25 / x1 / x4, ../shared/BENCHMARKS.md rule 3).
sweep_weights = [
    'model.distiller.distill_losses.loss_kd.loss_weight',
    'model.attention_loss.loss_weight'
]
