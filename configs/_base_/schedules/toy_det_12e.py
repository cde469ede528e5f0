# Short schedule for the toy detection data on 2 CPU cores (batch 8).
max_epochs = 12
train_cfg = dict(
    type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=max_epochs)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
# AdamW converges much faster than mmdet's SGD recipe on a short from-scratch schedule
# (4 epochs, toy data, w1.0 teacher: bbox mAP 0.035 with AdamW lr 5e-3, about 0.025 after
# 8 epochs of SGD lr 0.02; tools/train.py runs on 2 CPU cores)
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=0.005, weight_decay=0.05),
    clip_grad=dict(max_norm=10, norm_type=2))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=100),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=0, end=max_epochs,
         T_max=max_epochs, eta_min_ratio=0.05, convert_to_iter_based=True)
]
auto_scale_lr = dict(enable=False, base_batch_size=8)
