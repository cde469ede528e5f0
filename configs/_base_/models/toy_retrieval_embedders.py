# Toy metric-learning pair (64 px retrieval data): teacher WRN-16-2 -> 512-d embedding,
# student resnet8 -> 128-d embedding (the sizes of the real ResNet-50 -> ResNet-18 pair),
# each an mmpretrain ImageClassifier with kd_plugins' EmbeddingHead (linear `head.fc`,
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
    backbone=dict(type='CifarKDResNet', arch='resnet8'),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='EmbeddingHead', in_channels=64, embed_dim=128,
              loss=dict(type='MultiSimilarityLoss')))
