# MMRazor's own channel-wise distillation (CWD, Shu et al. ICCV 2021) on the three FPN
# outputs of the toy RetinaNet pair (MobileNetV2 w1.0 -> w0.25): the baseline of the
# RetinaNet toy row (issue 18).
#   tools/train.py THIS --teacher-ckpt work_dirs/retina_teacher/epoch_12.pth
# Loss weights: MMRazor's published default for RetinaNet (protocol v2, rule 3: a
# baseline row starts from it, the benchmark sweeps x0.25, x1, x4 of it).
_base_ = ['../_base_/distill/retinanet_mbv2_w100_to_w025_toy-det.py']
model = dict(distiller=dict(distill_losses={
    # published default: 10 with tau 1 (mmrazor::distill/mmdet/cwd/
    # cwd_fpn_retina_r101_retina_r50_1x_coco.py keeps its Faster R-CNN base's losses)
    f'loss_neck{i}': dict(type='ChannelWiseDivergence', tau=1, loss_weight=10)
    for i in range(_base_.num_levels)
}))
# the loss weights the benchmark's sweep scales together (full dotted config paths)
sweep_weights = [f'model.distiller.distill_losses.loss_neck{i}.loss_weight'
                 for i in range(_base_.num_levels)]
