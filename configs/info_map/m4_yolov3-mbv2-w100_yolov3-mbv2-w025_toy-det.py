# M4 information-map distillation, toy pair (YOLOv3 MobileNetV2 w1.0 -> w0.25): the
# teacher's information map weights feature distillation at the three backbone outputs
# (8/24/80 -> 32/96/320 channels) and the three neck outputs (24 -> 96), each level
# with its own 1x1 adaptation conv.
#   python tools/train.py THIS --teacher-ckpt work_dirs/teacher/epoch_12.pth
# Loss weights: set with tools/benchmark/grad_balance.py so that the distillation
# gradient is about 0.4-1x the student's task gradient at a trained no-KD student,
# one rule for every row of the detection benchmark (YOLOv3's summed task loss is
# ~100x a mean-reduced one, hence weights far above MMRazor's COCO defaults).
# normalize=True: the feature term compares per-channel standardised features. On the
# toy benchmark raw features gave results within the seed spread of these (first run:
# benchmarks/history/2026-11-24-raw-features/).
_base_ = ['../_base_/distill/yolov3_mbv2_w100_to_w025_neck_toy-det.py']
temperature = 1.0
loss_weight = dict(neck=6.0, backbone=6.0)
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
        distill_losses={
            f'loss_{part}{i}': dict(type='InfoMapDistillLoss', temperature=temperature,
                                    loss_weight=loss_weight[part], normalize=True)
            for part in ('neck', 'backbone') for i in range(3)
        },
        loss_forward_mappings={
            f'loss_backbone{i}': dict(
                preds_S=dict(from_student=True, recorder='backbone', data_idx=i,
                             connector=f'bb{i}_s'),
                preds_T=dict(from_student=False, recorder='backbone', data_idx=i))
            for i in range(3)
        }))
