# The real metric-learning pair of M8: teacher ResNet-50 -> 512-d embedding, student
# ResNet-18 -> 128-d embedding, each an mmpretrain ImageClassifier (ResNet, last stage
# only) + GlobalAveragePooling + kd_plugins' EmbeddingHead (linear `head.fc`,
# multi-similarity loss). Named variables (not `model`), so a distillation config can
# take both: `teacher=_base_.r50_metric_teacher, architecture=_base_.r18_metric_student`.
# Both backbones start from mmpretrain's ImageNet-1k weights, read from LOCAL files
# (nothing downloads at run time). Fetch them once, beforehand:
#   mim download mmpretrain --config resnet50_8xb32_in1k --dest checkpoints/
#   mim download mmpretrain --config resnet18_8xb32_in1k --dest checkpoints/
# (the model-zoo files of mmpretrain::resnet/resnet{50,18}_8xb32_in1k.py), or pass other
# paths, e.g. --cfg-options model.backbone.init_cfg.checkpoint=/path/r50.pth (a model
# trained alone) or model.architecture.backbone.init_cfg.checkpoint=... /
# model.teacher.backbone.init_cfg.checkpoint=... (a distillation config). The files are
# read by init_weights() at the start of training, not when the model is built.
r50_imagenet_ckpt = 'checkpoints/resnet50_8xb32_in1k_20210831-ea4938fc.pth'
r18_imagenet_ckpt = 'checkpoints/resnet18_8xb32_in1k_20210831-fbbb1da6.pth'
r50_metric_teacher = dict(
    type='ImageClassifier',
    backbone=dict(type='ResNet', depth=50, num_stages=4, out_indices=(3, ),
                  style='pytorch',
                  init_cfg=dict(type='Pretrained', checkpoint=r50_imagenet_ckpt,
                                prefix='backbone.')),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='EmbeddingHead', in_channels=2048, embed_dim=512,
              loss=dict(type='MultiSimilarityLoss')))
r18_metric_student = dict(
    type='ImageClassifier',
    backbone=dict(type='ResNet', depth=18, num_stages=4, out_indices=(3, ),
                  style='pytorch',
                  init_cfg=dict(type='Pretrained', checkpoint=r18_imagenet_ckpt,
                                prefix='backbone.')),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='EmbeddingHead', in_channels=512, embed_dim=128,
              loss=dict(type='MultiSimilarityLoss')))
