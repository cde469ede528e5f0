# Ablation `M5-adapter` (issue 19) of the toy M5 config: the same hybrid attention loss,
# weights and logit KD term, but the width gap is bridged by a learned 1x1 conv on the
# student side (16 / 32 / 64 -> 32 / 64 / 128 channels) instead of selecting the
# teacher's most active channels. The research claim it tests (../shared/research/ 003):
# for a student narrower than its teacher, the active-channel selection transfers more
# than a projection. This pair is narrower at every distilled stage.
#   python tools/benchmark/run.py cls --rows M5-adapter
_base_ = ['./m5_wrn-16-2_resnet8_toy-cls.py']
model = dict(channel_match='adapter', num_selected=None, selector=None)
