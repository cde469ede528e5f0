# Experiment row `M5-at_norm` (issue 19): M5 with its attention terms normalised and
# weighted as attention transfer's own recipe. Hypothesis: M5 trails MMRazor AT (0.831 vs
# 0.856 top-1 on the v2 toy) because its spatial term, summed over positions at the
# grad-balance weight (0.35 per stage), pulls about as hard as AT's at the 32x32 stage
# but 3x and 11x less at the 16x16 and 8x8 ones: AT's mean over positions (MMRazor's
# ATLoss) at its published 1000 per stage weights a deep stage H*W times more per
# position. Here the spatial and channel distances are averaged (reduction='mean'; the
# spatial term is then exactly ATLoss) and start from AT's published weight; the logit KD
# term and the channel selection are M5's. Kept as M5's default only if it beats M5 on
# val at the same sweep.
_base_ = ['./m5_wrn-16-2_resnet8_toy-cls.py']
ha_weight = 1000.0  # AT's published weight (configs/mmrazor_at/ for its source)
model = dict(attention_loss=dict(reduction='mean', loss_weight=ha_weight))
