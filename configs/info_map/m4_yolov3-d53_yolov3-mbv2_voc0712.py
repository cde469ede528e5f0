# M4 information-map distillation, YOLOv3 Darknet-53 (teacher) -> YOLOv3 MobileNetV2
# (student), Pascal VOC 07+12: the teacher's information map weights feature
# distillation at the three backbone outputs (1x1 adaptation convs 32 / 96 / 320 -> 256
# / 512 / 1024 channels) and the three neck outputs (96 -> 512 / 256 / 128), each level
# with its own adaptation conv. Loss weights are the toy config's (the loss is a mean
# over locations and channels, so it does not grow with the maps), untuned starting
# points at this scale.
#   tools/dist_train.sh THIS 8 --teacher-ckpt /path/to/yolov3-d53_voc0712_teacher.pth
_base_ = ['../_base_/distill/yolov3_d53_to_mbv2_voc0712.py']
temperature = 1.0
model = dict(
    distiller=dict(
        student_recorders=dict(backbone=dict(type='ModuleOutputs', source='backbone')),
        teacher_recorders=dict(backbone=dict(type='ModuleOutputs', source='backbone')),
        connectors={
            f'bb{i}_s': dict(type='ConvModuleConnector',
                             in_channel=_base_.yolov3_mbv2_backbone_channels[i],
                             out_channel=_base_.yolov3_d53_backbone_channels[i],
                             kernel_size=1, act_cfg=None, norm_cfg=None)
            for i in range(3)
        },
        distill_losses=dict(
            **{
                f'loss_{part}{i}': dict(type='InfoMapDistillLoss',
                                        temperature=temperature, loss_weight=1.0)
                for part in ('neck', 'backbone') for i in range(3)
            }),
        loss_forward_mappings={
            f'loss_backbone{i}': dict(
                preds_S=dict(from_student=True, recorder='backbone', data_idx=i,
                             connector=f'bb{i}_s'),
                preds_T=dict(from_student=False, recorder='backbone', data_idx=i))
            for i in range(3)
        }))
