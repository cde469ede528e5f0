# Toy metric-learning pair (32 px retrieval data): teacher WRN-16-2 -> 512-d embedding,
# student resnet8 at half width (8 / 16 / 32 channels) -> 128-d embedding (the embedding
# sizes of the real ResNet-50 -> ResNet-18 pair). Half width because the full-width
# resnet8 came within 0.05-0.09 R@1 of the teacher (val, 20 epochs), too close for
# distillation to show; at half width 0.11-0.21 (mean 0.155 over 4 seeds). Each an
# mmpretrain ImageClassifier with kd_plugins' EmbeddingHead (linear `head.fc`,
# multi-similarity loss). Named variables (not `model`), so a distillation config can
# take both: `teacher=_base_.toy_metric_teacher, architecture=_base_.toy_metric_student`.
toy_metric_teacher = dict(
    type='ImageClassifier',
    backbone=dict(type='WideResNet', depth=16, widen_factor=2),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='EmbeddingHead', in_channels=128, embed_dim=512,
              loss=dict(type='MultiSimilarityLoss')))
toy_metric_student = dict(
    type='ImageClassifier',
    backbone=dict(type='CifarKDResNet', arch='resnet8x0.5'),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='EmbeddingHead', in_channels=32, embed_dim=128,
              loss=dict(type='MultiSimilarityLoss')))
