# MMRazor's own channel-wise distillation (CWD, Shu et al. ICCV 2021) on the three YOLOv3
# neck outputs: toy teacher (MobileNetV2 w1.0) -> toy student (w0.25). Used by `make demo`
# to prove the chain and as a baseline for kd_plugins' methods.
#   tools/train.py THIS --teacher-ckpt work_dirs/teacher/epoch_12.pth
# Loss weights: MMRazor's published default (protocol v2, rule 3: a baseline row starts
# from it, the benchmark sweeps x0.25, x1, x4 of it). Before protocol v2: 500 (the
# tools/benchmark/grad_balance.py rule).
_base_ = ['../_base_/distill/yolov3_mbv2_w100_to_w025_neck_toy-det.py']
model = dict(distiller=dict(distill_losses={
    # published default: 10 (mmrazor::distill/mmdet/cwd/cwd_fpn_frcnn_r101_frcnn_r50_1x_coco.py)
    # with tau 1 (also its RetinaNet and GFL configs). Set there for FPN levels of 256 channels next
    # to mean-reduced task losses; this YOLOv3's task loss is summed over positions (~100x
    # a mean-reduced one): kept as published, as protocol v2 asks.
    f'loss_neck{i}': dict(type='ChannelWiseDivergence', tau=1, loss_weight=10)
    for i in range(3)
}))
# the loss weights the benchmark's sweep scales together (full dotted config paths)
sweep_weights = [f'model.distiller.distill_losses.loss_neck{i}.loss_weight'
                 for i in range(3)]
