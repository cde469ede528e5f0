# MMRazor's channel-wise distillation (CWD, Shu et al. ICCV 2021) on the logits, on
# Cityscapes: single teacher PSPNet-R101-D8 -> DeepLabV3-R18-D8, the pair and data of the
# M6 Cityscapes config (configs/multi_teacher/m6_pspnet-r101_deeplabv3-r101_deeplabv3-
# r18_4xb2-80k_cityscapes-512x1024.py), both logits at 1/8 resolution (64x128 per crop).
# MMRazor's own config distils PSPNet-R101 -> PSPNet-R18 with tau 1 and loss weight 5
# (mmrazor::distill/mmseg/cwd/cwd_logits_pspnet_r101-d8_pspnet_r18-d8_4xb2-80k_
# cityscapes-512x1024.py): its settings, not re-tuned for this student (check them with
# tools/benchmark/grad_balance.py). The teacher checkpoint is a local file, e.g. mmseg's
# weights of pspnet_r101-d8_4xb2-80k_cityscapes-512x1024 fetched beforehand with
# `mim download mmsegmentation --config ... --dest checkpoints/`:
#   tools/dist_train.sh THIS 4 --teacher-ckpt /path/to/pspnet_r101-d8_cityscapes.pth
#   mim train kd_plugins THIS --launcher pytorch --gpus 4 \
#       --cfg-options model.teacher_ckpt=/path/to/pspnet_r101-d8_cityscapes.pth
# ImageNet start for the student: model.architecture.pretrained=/path/to/resnet18_v1c.pth.
_base_ = ['../_base_/distill/cityscapes_r101-d8_to_deeplabv3-r18-d8.py',
          '../_base_/distill/cwd_seg_logits.py']
teacher_ckpt = None  # local path; set with --teacher-ckpt or --cfg-options
model = dict(
    _scope_='mmrazor',
    type='PreprocessAwareDistill',
    architecture=_base_.deeplabv3_r18_d8,
    teacher=_base_.pspnet_r101_d8,
    teacher_ckpt=teacher_ckpt,
    distiller=dict(_base_.cwd_seg_logits_distiller, distill_losses=dict(
        loss_cwd=dict(_base_.cwd_loss, loss_weight=5.0))))
find_unused_parameters = True
