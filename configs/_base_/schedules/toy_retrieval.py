# Toy retrieval schedule (400 train images at the default toy size: 10 classes x 40,
# 12 iterations per epoch at batch 32 = 8 classes x 4): AdamW + 1-epoch warm-up + cosine,
# 60 epochs (720 iterations), evaluated on the held-out classes every 10 epochs.
optim_wrapper = dict(optimizer=dict(type='AdamW', lr=1e-3, weight_decay=5e-4))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=1, end=60, T_max=59,
         convert_to_iter_based=True),
]
train_cfg = dict(by_epoch=True, max_epochs=60, val_interval=10)
val_cfg = dict()
test_cfg = dict()
