# MMRazor's own channel-wise distillation (CWD, Shu et al. ICCV 2021) on the three YOLOv3
# neck outputs: toy teacher (MobileNetV2 w1.0) -> toy student (w0.25). Used by `make demo`
# to prove the chain and as a baseline for kd_plugins' methods.
#   tools/train.py THIS --teacher-ckpt work_dirs/teacher/epoch_12.pth
# Loss weights: set with tools/benchmark/grad_balance.py so that the distillation
# gradient is about 0.4-1x the student's task gradient at a trained no-KD student,
# one rule for every row of the detection benchmark (YOLOv3's summed task loss is
# ~100x a mean-reduced one, hence weights far above MMRazor's COCO defaults).
_base_ = ['../_base_/distill/yolov3_mbv2_w100_to_w025_neck_toy-det.py']
model = dict(
    distiller=dict(distill_losses={
        f'loss_neck{i}': dict(type='ChannelWiseDivergence', tau=1, loss_weight=500)
        for i in range(3)
    }))
