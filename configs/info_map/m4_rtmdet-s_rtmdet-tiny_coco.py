# M4 information-map distillation, RTMDet-s (teacher) -> RTMDet-tiny (student), COCO:
# the teacher's information map weights feature distillation at the backbone outputs and
# the neck levels (1x1 adaptation convs, the student is narrower). Loss weights are the
# toy config's first ones (the loss is a mean over locations and channels, so it does
# not grow with the maps), untuned starting points at COCO scale.
#   tools/dist_train.sh THIS 8 --teacher-ckpt /path/to/rtmdet_s_8xb32-300e_coco.pth
_base_ = ['../_base_/distill/rtmdet_s_to_tiny_coco.py']
temperature = 1.0
num_backbone_levels = len(_base_.student_backbone_channels)
model = dict(
    distiller=dict(
        # 1x1 adaptation convs: the student's backbone is narrower at every level
        connectors=dict(
            _base_.neck_connectors, **{
                f'backbone{i}_s': dict(type='ConvModuleConnector',
                                       in_channel=_base_.student_backbone_channels[i],
                                       out_channel=_base_.teacher_backbone_channels[i],
                                       kernel_size=1, act_cfg=None, norm_cfg=None)
                for i in range(num_backbone_levels)
            }),
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
                preds_S=dict(from_student=True, recorder='backbone', data_idx=i,
                             connector=f'backbone{i}_s'),
                preds_T=dict(from_student=False, recorder='backbone', data_idx=i))
            for i in range(num_backbone_levels)
        }))
