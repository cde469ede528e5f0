# MMRazor's channel-wise distillation (CWD, Shu et al. ICCV 2021) on the segmentation
# logits, as MMRazor's own PSPNet config does it: single teacher UNet-32 (the better toy
# teacher by val mIoU) -> UNet-8, both logits at full resolution. The teacher gets its own
# normalisation (pixels / 255) through PreprocessAwareDistill.
#   tools/train.py THIS \
#       --teacher-ckpt work_dirs/benchmark/seg/teacher-unet-c32-i1000/iter_1000.pth
# Loss weight: tools/benchmark/grad_balance.py rule, as every row of the seg benchmark
# (distillation gradient ~0.7x the task gradient at the trained no-KD student: 21.4x at
# MMRazor's loss_weight 3.0 -> 0.1).
_base_ = ['../_base_/models/toy_seg.py', '../_base_/datasets/toy_seg.py',
          '../_base_/schedules/toy_seg.py', 'mmseg::_base_/default_runtime.py',
          '../_base_/kd_runtime.py',
          '../_base_/distill/cwd_seg_logits.py']
teacher_ckpt = None  # local path; set with --teacher-ckpt or --cfg-options
model = dict(
    _scope_='mmrazor',
    type='PreprocessAwareDistill',
    architecture=_base_.toy_seg_student,
    teacher=_base_.toy_seg_unet_teacher,
    teacher_ckpt=teacher_ckpt,
    distiller=dict(_base_.cwd_seg_logits_distiller, distill_losses=dict(
        loss_cwd=dict(_base_.cwd_loss, loss_weight=0.1))))
find_unused_parameters = True
