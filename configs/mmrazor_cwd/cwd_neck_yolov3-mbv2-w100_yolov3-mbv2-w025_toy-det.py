# MMRazor's own channel-wise distillation (CWD, Shu et al. ICCV 2021) on the three YOLOv3
# neck outputs: toy teacher (MobileNetV2 w1.0) -> toy student (w0.25). Used by `make demo`
# to prove the chain; kd_plugins' methods add their own configs beside it.
#   tools/train.py THIS --teacher-ckpt work_dirs/teacher/epoch_12.pth
_base_ = ['../detectors/yolov3_mobilenetv2-w025_8xb8-12e_toy-det.py']

teacher_ckpt = None  # local path; set with --teacher-ckpt or --cfg-options
student = _base_.model
student_channels = 24
teacher_channels = 96

model = dict(
    _delete_=True,
    _scope_='mmrazor',
    type='PreprocessAwareDistill',
    architecture=student,
    teacher=dict(
        cfg_path='kd_plugins::detectors/yolov3_mobilenetv2-w100_8xb8-12e_toy-det.py'),
    teacher_ckpt=teacher_ckpt,
    distiller=dict(
        type='ConfigurableDistiller',
        student_recorders=dict(neck=dict(type='ModuleOutputs', source='neck')),
        teacher_recorders=dict(neck=dict(type='ModuleOutputs', source='neck')),
        connectors={
            f'neck{i}_s': dict(
                type='ConvModuleConnector',
                in_channel=student_channels,
                out_channel=teacher_channels,
                kernel_size=1,
                act_cfg=None,
                norm_cfg=None)
            for i in range(3)
        },
        distill_losses={
            f'loss_cwd_neck{i}': dict(type='ChannelWiseDivergence', tau=1, loss_weight=5)
            for i in range(3)
        },
        loss_forward_mappings={
            f'loss_cwd_neck{i}': dict(
                preds_S=dict(from_student=True, recorder='neck', data_idx=i,
                             connector=f'neck{i}_s'),
                preds_T=dict(from_student=False, recorder='neck', data_idx=i))
            for i in range(3)
        }))

find_unused_parameters = True
