# M5 hybrid attention transfer with channel selection on the toy classification pair:
# spatial + channel attention at the three backbone stages; the teacher (32 / 64 / 128
# channels) keeps its 16 / 32 / 64 most active channels (ActiveChannelSelector, running
# activation statistics) to match the student's widths; plus logit KD on standardised
# logits (StandardizedKLDivergence, tau 2).
#   tools/train.py THIS --teacher-ckpt work_dirs/toy_cls_teacher/epoch_30.pth
# Channel attention compares the sorted activity profiles (channel_pairing='sorted'):
# the benchmark's first run paired student channel i with selected teacher channel i and
# was kept in benchmarks/history/2026-11-25-m5-index-pairing/.
# Loss weights: tools/benchmark/grad_balance.py rule (see the KD baseline's header): the
# summed distillation gradient ~0.5x the task gradient at a trained no-KD student, like
# every row; about half of it for the logit term, half for the attention terms.
# Re-set after the teacher-normalisation fix (issue 7): the first weights were measured
# with the teacher seeing raw pixels
# (benchmarks/history/2026-11-25-cls-teacher-raw-pixels/).
# Logit term (issue 19): KD on z-scored logits (Sun et al., "Logit Standardization in
# Knowledge Distillation", CVPR 2024), tau 2 as that paper's code on CIFAR-100
# (sunshangquan/logit-standardization-KD README, `--logit-stand --base-temp 2`). Tried as
# the experiment row `M5-logit_std` and kept because it beat M5 with vanilla KD (tau 4,
# weight 0.045) on val at the same sweep, 0.844 vs 0.842 top-1 (less than the seed
# spread; val decides). Its weight gives the gradient of the term it replaced: at the
# benchmark teacher and a 30-epoch no-KD student, 0.24x the task gradient at weight 1
# against 0.25x for vanilla KD at 0.045. The table before:
# benchmarks/history/2026-11-30-m5-vanilla-kd/.
_base_ = ['../mmrazor_kd/kd_logits_wrn-16-2_resnet8_toy-cls.py']
kd_weight = 1.0
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
    distiller=dict(distill_losses=dict(loss_kd=dict(
        _delete_=True, type='StandardizedKLDivergence', tau=2.0,
        loss_weight=kd_weight))))
# The loss weights protocol v2's sweep scales together (x0.25 / x1 / x4, ../shared/BENCHMARKS.md rule 3).
sweep_weights = [
    'model.distiller.distill_losses.loss_kd.loss_weight',
    'model.attention_loss.loss_weight'
]
