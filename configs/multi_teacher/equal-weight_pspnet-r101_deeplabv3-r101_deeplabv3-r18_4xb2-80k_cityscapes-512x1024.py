# Baseline: equal-weight multi-teacher pixel KD on Cityscapes, the M6 config's teachers
# (PSPNet-R101-D8, DeepLabV3-R101-D8), student (DeepLabV3-R18-D8), data, schedule and
# temperature; every teacher weighs 1/2 on every image, every pixel weighs 1, no feature
# term. Checkpoints and commands as in the M6 config:
#   tools/dist_train.sh THIS 4 --cfg-options model.teachers.pspnet.ckpt_path=PSP.pth \
#       model.teachers.deeplabv3.ckpt_path=DLV3.pth
#   mim train kd_plugins THIS --launcher pytorch --gpus 4 --cfg-options (the same two)
# Pixel KD weight 1 as in the toy baseline, not tuned on real data (re-check with
# tools/benchmark/grad_balance.py).
_base_ = ['./m6_pspnet-r101_deeplabv3-r101_deeplabv3-r18_4xb2-80k_cityscapes-512x1024.py']
model = dict(
    distill_loss=dict(band_width=0, boundary_weight=0.0, quality='equal'),
    feature_loss_weight=0.0)
