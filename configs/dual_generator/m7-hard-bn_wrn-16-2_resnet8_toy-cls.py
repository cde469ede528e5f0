# Experiment row `M7-hard_bn` (issue 19): M7 with DeepInversion's BN-statistics prior
# on the hard-sample generator G1 as well (hard_bn_prior=True; the same bn_stats_loss
# and weight as G2's). Hypothesis: half of every student batch comes from G1, which only
# maximises the student-teacher disagreement and so drifts away from the statistics of
# the data the teacher was trained on; the student then learns the teacher where no real
# image lies, and transfers poorly to real images (M7's test top-1 is 0.419 against 0.797
# for a student trained on the real images, two classes near zero recall). Keeping G1's
# images near the teacher's BN statistics keeps the hard samples on the data. Kept as
# M7's default only if it beats M7 on val at the same sweep.
_base_ = ['./m7_wrn-16-2_resnet8_toy-cls.py']
model = dict(hard_bn_prior=True)
