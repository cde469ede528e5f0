# MMRazor's own channel-wise distillation (CWD, Shu et al. ICCV 2021) on the three YOLOv3
# neck outputs: toy teacher (MobileNetV2 w1.0) -> toy student (w0.25). Used by `make demo`
# to prove the chain and as a baseline for kd_plugins' methods.
#   tools/train.py THIS --teacher-ckpt work_dirs/teacher/epoch_12.pth
_base_ = ['../_base_/distill/yolov3_mbv2_w100_to_w025_neck_toy-det.py']
model = dict(
    distiller=dict(distill_losses={
        f'loss_neck{i}': dict(type='ChannelWiseDivergence', tau=1, loss_weight=5)
        for i in range(3)
    }))
