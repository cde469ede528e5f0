# Channel facts and FPN wiring of the real Faster R-CNN pairs, teacher R101-FPN ->
# student R50-FPN / R18-FPN, for faster-rcnn_r101_to_r50_fpn_1x_coco.py (the R18 method
# configs build on the R50 ones and swap the student). No `_base_` and only these
# prefixed variables, so it can sit beside a detector config in a `_base_` list.
# ResNet backbone outputs, strides 4 / 8 / 16 / 32 (out_indices (0, 1, 2, 3)):
resnet_backbone_channels = dict(
    r18=[64, 128, 256, 512],  # BasicBlock
    r50=[256, 512, 1024, 2048],  # Bottleneck (R101 too)
    r101=[256, 512, 1024, 2048])
# FPN: five levels (strides 4 .. 64), 256 channels for every student and the teacher, so
# the FPN losses need no adaptation layer.
frcnn_fpn_levels = 5
# The five FPN outputs recorded on both sides as `fpn`, one loss per level named
# loss_fpn0..4 (a method config fills in `distill_losses`).
frcnn_fpn_distiller = dict(
    type='ConfigurableDistiller',
    student_recorders=dict(fpn=dict(type='ModuleOutputs', source='neck')),
    teacher_recorders=dict(fpn=dict(type='ModuleOutputs', source='neck')),
    distill_losses={f'loss_fpn{i}': dict() for i in range(frcnn_fpn_levels)},
    loss_forward_mappings={
        f'loss_fpn{i}': dict(
            preds_S=dict(from_student=True, recorder='fpn', data_idx=i),
            preds_T=dict(from_student=False, recorder='fpn', data_idx=i))
        for i in range(frcnn_fpn_levels)
    })
