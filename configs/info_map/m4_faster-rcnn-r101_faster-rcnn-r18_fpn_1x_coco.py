# M4 information-map distillation, Faster R-CNN R101-FPN 2x (teacher) -> R18-FPN 1x
# (student), COCO: the teacher's information map weights feature distillation at the four
# ResNet stage outputs and the five FPN levels. FPN levels are 256 channels on both sides;
# a backbone level gets a 1x1 adaptation conv only where the student is narrower (R18: 64
# / 128 / 256 / 512 -> 256 / 512 / 1024 / 2048; R50 has R101's widths). Loss weights are
# the toy config's first ones, before its gradient balancing (the loss is a mean over
# locations and channels, so it does not grow with the maps), untuned starting points at
# COCO scale.
#   tools/dist_train.sh THIS 8 --teacher-ckpt /path/to/faster-rcnn_r101_fpn_2x_coco.pth
# The R50 config with the student of detectors/faster-rcnn_r18_fpn_1x_coco.py (ResNet-18
# backbone, FPN in_channels 64 / 128 / 256 / 512) and the backbone adaptation convs.
_base_ = ['./m4_faster-rcnn-r101_faster-rcnn-r50_fpn_1x_coco.py']
student_backbone_channels = _base_.resnet_backbone_channels['r18']
model = dict(
    architecture=dict(
        backbone=dict(depth=18, init_cfg=None),
        neck=dict(in_channels=student_backbone_channels)),
    distiller=dict(
        # R18 is narrower than R101 at all four backbone levels: each gets a 1x1
        # adaptation conv on the student side
        connectors={
            f'bb{i}_s': dict(type='ConvModuleConnector',
                             in_channel=student_backbone_channels[i],
                             out_channel=_base_.teacher_backbone_channels[i],
                             kernel_size=1, act_cfg=None, norm_cfg=None)
            for i in range(_base_.num_backbone_levels)
        },
        loss_forward_mappings={
            f'loss_backbone{i}': dict(preds_S=dict(connector=f'bb{i}_s'))
            for i in range(_base_.num_backbone_levels)
        }))
