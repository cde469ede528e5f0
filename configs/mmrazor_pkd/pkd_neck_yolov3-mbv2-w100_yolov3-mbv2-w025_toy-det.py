# MMRazor's PKD (Pearson-correlation feature imitation, Cao et al. NeurIPS 2022) on the
# three neck outputs of the toy pair, through the shared 1x1 adaptation convs
# (24 -> 96 channels). A comparison row of the detection benchmark.
#   python tools/train.py THIS --teacher-ckpt work_dirs/teacher/epoch_12.pth
# Loss weights: set with tools/benchmark/grad_balance.py so that the distillation
# gradient is about 0.4-1x the student's task gradient at a trained no-KD student,
# one rule for every row of the detection benchmark (YOLOv3's summed task loss is
# ~100x a mean-reduced one, hence weights far above MMRazor's COCO defaults).
_base_ = ['../_base_/distill/yolov3_mbv2_w100_to_w025_neck_toy-det.py']
model = dict(
    distiller=dict(distill_losses={
        f'loss_neck{i}': dict(type='PKDLoss', loss_weight=420.0, resize_stu=True)
        for i in range(3)
    }))
