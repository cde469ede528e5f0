# Toy retrieval schedule: AdamW + 1-epoch warm-up + cosine, 60 epochs, evaluated on the
# held-out classes every 10 epochs (600 train images at the toy default, 20 classes x 30:
# 19 iterations per epoch at batch 32 = 8 classes x 4). The protocol v2 benchmark
# (kd_plugins/benchmark/tasks/retrieval.py) trains 20 epochs on 40 classes x 30 at 32 px.
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
