# M4 information-map distillation, Faster R-CNN R101-FPN 2x (teacher) -> R50-FPN 1x
# (student), COCO: the teacher's information map weights feature distillation at the four
# ResNet stage outputs and the five FPN levels. FPN levels are 256 channels on both sides;
# a backbone level gets a 1x1 adaptation conv only where the student is narrower (R18: 64
# / 128 / 256 / 512 -> 256 / 512 / 1024 / 2048; R50 has R101's widths). Loss weights are
# the toy config's first ones, before its gradient balancing (the loss is a mean over
# locations and channels, so it does not grow with the maps), untuned starting points at
# COCO scale.
#   tools/dist_train.sh THIS 8 --teacher-ckpt /path/to/faster-rcnn_r101_fpn_2x_coco.pth
_base_ = ['../_base_/distill/faster-rcnn_r101_to_r50_fpn_1x_coco.py']
temperature = 1.0
num_backbone_levels = 4
model = dict(
    distiller=dict(
        student_recorders=dict(backbone=dict(type='ModuleOutputs', source='backbone')),
        teacher_recorders=dict(backbone=dict(type='ModuleOutputs', source='backbone')),
        # R50 has R101's backbone widths: no adaptation layer (the R18 config adds them)
        connectors=dict(),
        distill_losses=dict(
            **{
                f'loss_fpn{i}': dict(type='InfoMapDistillLoss', temperature=temperature,
                                     loss_weight=1.0)
                for i in range(_base_.frcnn_fpn_levels)
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
