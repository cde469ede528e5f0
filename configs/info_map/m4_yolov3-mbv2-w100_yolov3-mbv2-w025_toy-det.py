# M4 information-map distillation, toy pair (YOLOv3 MobileNetV2 w1.0 -> w0.25): the
# teacher's information map weights feature distillation at the three backbone outputs
# (8/24/80 -> 32/96/320 channels) and the three neck outputs (24 -> 96), each level
# with its own 1x1 adaptation conv.
#   python tools/train.py THIS --teacher-ckpt work_dirs/teacher/epoch_12.pth
_base_ = ['../_base_/distill/yolov3_mbv2_w100_to_w025_neck_toy-det.py']
temperature = 1.0
student_backbone_channels = [8, 24, 80]
teacher_backbone_channels = [32, 96, 320]
model = dict(
    distiller=dict(
        student_recorders=dict(backbone=dict(type='ModuleOutputs', source='backbone')),
        teacher_recorders=dict(backbone=dict(type='ModuleOutputs', source='backbone')),
        connectors={
            f'bb{i}_s': dict(type='ConvModuleConnector',
                             in_channel=student_backbone_channels[i],
                             out_channel=teacher_backbone_channels[i], kernel_size=1,
                             act_cfg=None, norm_cfg=None)
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
