# M4 information-map distillation, GFL R101-FPN ms-2x (teacher) -> R50-FPN 1x (student),
# COCO: the teacher's information map weights feature distillation at the backbone
# outputs and the neck levels (same widths, no adaptation layer). Loss weights are the
# toy config's first ones (the loss is a mean over locations and channels, so it does
# not grow with the maps), untuned starting points at COCO scale.
#   tools/dist_train.sh THIS 8 --teacher-ckpt /path/to/gfl_r101_fpn_ms-2x_coco.pth
_base_ = ['../_base_/distill/gfl_r101_to_r50_fpn_coco.py']
temperature = 1.0
num_backbone_levels = len(_base_.student_backbone_channels)
model = dict(
    distiller=dict(
        distill_losses=dict(
            **{
                f'loss_neck{i}': dict(type='InfoMapDistillLoss',
                                      temperature=temperature, loss_weight=1.0)
                for i in range(_base_.num_levels)
            },
            **{
                f'loss_backbone{i}': dict(type='InfoMapDistillLoss',
                                          temperature=temperature, loss_weight=1.0)
                for i in range(num_backbone_levels)
            }),
        loss_forward_mappings={
            f'loss_backbone{i}': dict(
                preds_S=dict(from_student=True, recorder='backbone', data_idx=i),
                preds_T=dict(from_student=False, recorder='backbone', data_idx=i))
            for i in range(num_backbone_levels)
        }))
