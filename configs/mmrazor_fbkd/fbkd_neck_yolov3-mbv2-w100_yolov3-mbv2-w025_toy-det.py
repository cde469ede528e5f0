# MMRazor's FBKD (Zhang & Ma, ICLR 2021: attention masks + non-local relations) on the
# three neck outputs of the toy pair. FBKD's connectors need equal widths, so the
# student side first passes a 1x1 adaptation conv (24 -> 96) then FBKDStudentConnector.
# A comparison row of the detection benchmark.
#   python tools/train.py THIS --teacher-ckpt work_dirs/teacher/epoch_12.pth
# Loss weights: set with tools/benchmark/grad_balance.py so that the distillation
# gradient is about 0.4-1x the student's task gradient at a trained no-KD student,
# one rule for every row of the detection benchmark (YOLOv3's summed task loss is
# ~100x a mean-reduced one, hence weights far above MMRazor's COCO defaults).
_base_ = ['../_base_/distill/yolov3_mbv2_w100_to_w025_neck_toy-det.py']
# neck outputs at 160 px are 5x5, 10x10, 20x20: no max-pool on the smallest
sub_sample = [False, True, True]
model = dict(
    distiller=dict(
        connectors=dict(
            _delete_=True,
            **{
                f'neck{i}_s': dict(
                    type='SequentialConnector',
                    connectors=[
                        dict(type='ConvModuleConnector', in_channel=24, out_channel=96,
                             kernel_size=1, norm_cfg=None, act_cfg=None),
                        dict(type='FBKDStudentConnector', in_channels=96, reduction=4,
                             mode='dot_product', sub_sample=sub_sample[i]),
                    ])
                for i in range(3)
            },
            **{
                f'neck{i}_t': dict(type='FBKDTeacherConnector', in_channels=96,
                                   reduction=4, mode='dot_product',
                                   sub_sample=sub_sample[i])
                for i in range(3)
            }),
        distill_losses={f'loss_neck{i}': dict(type='FBKDLoss', loss_weight=7000.0) for i in range(3)},
        loss_forward_mappings=dict(
            _delete_=True,
            **{
                f'loss_neck{i}': dict(
                    s_input=dict(from_student=True, recorder='neck', data_idx=i,
                                 connector=f'neck{i}_s'),
                    t_input=dict(from_student=False, recorder='neck', data_idx=i,
                                 connector=f'neck{i}_t'))
                for i in range(3)
            })))
