# Deep-metric-learning schedule for ImageNet-initialised ResNets: AdamW, lr 1e-4 for the
# backbone and 10x (1e-3) for the freshly initialised embedding layer, 1-epoch linear
# warm-up then cosine decay; 60 epochs (CUB-200 / Cars196; a SOP config sets 100: see
# `max_epochs` there). The lr is for 4 GPUs x 64 images (auto_scale_lr scales it to
# another total batch with --auto-scale-lr).
# custom_keys match substrings of parameter names: 'head.fc' picks `head.fc.weight` of
# a model trained alone and `architecture.head.fc.*` (student) / `teacher.head.fc.*`
# (teacher) of a distillation algorithm; no backbone parameter has it in its name.
# Includes mmpretrain's default runtime (default_scope mmpretrain), whose hooks it
# adjusts: log every 10 iterations (a CUB epoch is ~23 at 4 x 64), a checkpoint at every
# evaluation (5 epochs), the last 3 kept.
_base_ = ['mmpretrain::_base_/default_runtime.py']
max_epochs = 60
optim_wrapper = dict(
    optimizer=dict(type='AdamW', lr=1e-4, weight_decay=5e-4),
    paramwise_cfg=dict(custom_keys={'head.fc': dict(lr_mult=10.0)}))
lr_warmup = dict(type='LinearLR', start_factor=0.01, by_epoch=True, begin=0, end=1,
                 convert_to_iter_based=True)
lr_cosine = dict(type='CosineAnnealingLR', eta_min=1e-7, by_epoch=True, begin=1,
                 end=max_epochs, T_max=max_epochs - 1, convert_to_iter_based=True)
param_scheduler = [lr_warmup, lr_cosine]
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=5)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=256)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=10),
    checkpoint=dict(type='CheckpointHook', interval=5, max_keep_ckpts=3))
