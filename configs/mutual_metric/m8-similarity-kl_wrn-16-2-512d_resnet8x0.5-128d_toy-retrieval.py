# Experiment (issue 21, benchmark row `M8-similarity_kl`): M8 with deep mutual learning's
# two-way KL on the batch neighbour distributions (MutualSimilarityKLLoss: softmax over
# cosine similarities at tau 0.1) in place of the relational distance + angle terms, in
# both directions (the guide and the gated feedback). Hypothesis: Recall@1 is decided by
# each query's nearest neighbours; RKD's Huber terms weigh every pair of the batch alike,
# the KL puts the weight on the near ones.
# Loss weights by the project's one rule (tools/benchmark/grad_balance.py, about 0.7x
# the task gradient at the trained no-KD networks), measured at the benchmark's seed-0
# teacher and a no-KD student trained as its student row (4 batches): at weight 1 the
# guide pulls 5.73x the student's task gradient, the feedback 8.91x the teacher's, so
# guide 0.12 (0.69x) and feedback 0.08 (0.71x). (M8's relational terms at the same
# networks: 0.61x and 1.14x.)
_base_ = ['./m8_wrn-16-2-512d_resnet8x0.5-128d_toy-retrieval.py']
model = dict(
    guide_loss=dict(_delete_=True, type='MutualSimilarityKLLoss', tau=0.1,
                    loss_weight=0.12),
    feedback_loss=dict(_delete_=True, type='MutualSimilarityKLLoss', tau=0.1,
                       loss_weight=0.08))
