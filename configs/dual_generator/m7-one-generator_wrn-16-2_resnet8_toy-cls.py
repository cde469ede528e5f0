# Ablation `M7-one_generator` (issue 19) of the toy M7 config: the hard-sample generator
# G1 alone makes every image of each student batch (easy_ratio=0: G2 is neither sampled
# nor trained); everything else, including the batch size and the student-step budget,
# is M7's (G1 keeps its BN-statistics prior). What the easy-sample generator adds is
# M7 minus this row.
#   python tools/benchmark/run.py datafree --rows M7-one_generator
_base_ = ['./m7_wrn-16-2_resnet8_toy-cls.py']
model = dict(easy_ratio=0.0)
