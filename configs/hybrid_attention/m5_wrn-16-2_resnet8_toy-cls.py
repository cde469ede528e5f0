# M5 hybrid attention transfer with channel selection on the toy classification pair:
# spatial + channel attention at the three backbone stages; the teacher (32 / 64 / 128
# channels) keeps its 16 / 32 / 64 most active channels (ActiveChannelSelector, running
# activation statistics) to match the student's widths; plus logit KD (tau=4).
#   tools/train.py THIS --teacher-ckpt work_dirs/toy_cls_teacher/epoch_30.pth
# Loss weights: tools/benchmark/grad_balance.py rule (see the KD baseline's header); the
# KD term has the KD baseline's weight.
_base_ = ['../mmrazor_kd/kd_logits_wrn-16-2_resnet8_toy-cls.py']
ha_weight = 1.0
model = dict(
    type='HybridAttentionDistill',
    stages=(0, 1, 2),
    num_selected=None,  # None: the student's width at each stage
    attention_loss=dict(type='HybridAttentionLoss', p=2, spatial_weight=1.0,
                        channel_weight=1.0, loss_weight=ha_weight),
    selector=dict(momentum=0.1),
    probe_shape=(3, 32, 32))
