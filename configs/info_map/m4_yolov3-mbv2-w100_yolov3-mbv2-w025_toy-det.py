# M4 information-map distillation, toy pair (YOLOv3 MobileNetV2 w1.0 -> w0.25): the
# teacher's information map weights feature distillation at the three backbone outputs
# (8/24/80 -> 32/96/320 channels) and the three neck outputs (24 -> 96), each level
# with its own 1x1 adaptation conv.
#   python tools/train.py THIS --teacher-ckpt work_dirs/teacher/epoch_12.pth
# Loss weights: 4x the grad-balance start, written `4 * <start>`
# (tools/benchmark/grad_balance.py: a distillation gradient about 0.4-1x the student's
# task gradient at a trained no-KD student, the rule every row of the detection benchmark
# starts from; YOLOv3's summed task loss is ~100x a mean-reduced one, hence weights far
# above MMRazor's COCO defaults). Issue 18's experiment `M4-strong`: M4's val score still
# rose at the top of its sweep from the grad-balance start (x0.25 / x1 / x4: 0.193 / 0.197
# / 0.212 bbox mAP); started 4x higher, the same sweep reached 0.215 on val. That win is
# smaller than the seed spread, but val is the rule, so the stronger start became the
# default. The table before: benchmarks/history/2026-11-30-m1-m4-grad-balance-start/.
# normalize=True: the feature term compares per-channel standardised features. On the
# toy benchmark raw features gave results within the seed spread of these (first run:
# benchmarks/history/2026-11-24-raw-features/).
_base_ = ['../_base_/distill/yolov3_mbv2_w100_to_w025_neck_toy-det.py']
temperature = 1.0
loss_weight = dict(neck=6.0, backbone=6.0)  # grad-balance start; the losses take 4x
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
                                    loss_weight=4 * loss_weight[part],
                                    normalize=True)
            for part in ('neck', 'backbone') for i in range(3)
        },
        loss_forward_mappings={
            f'loss_backbone{i}': dict(
                preds_S=dict(from_student=True, recorder='backbone', data_idx=i,
                             connector=f'bb{i}_s'),
                preds_T=dict(from_student=False, recorder='backbone', data_idx=i))
            for i in range(3)
        }))
