# Shared wiring for neck distillation on the toy pair: teacher YOLOv3 MobileNetV2 w1.0
# (neck 96 channels) -> student w0.25 (neck 24 channels), the three neck outputs recorded
# on both sides, a 1x1 adaptation conv per level on the student side, and one loss per
# level named loss_neck0..2. A method config sets `model.distiller.distill_losses`.
_base_ = ['../../detectors/yolov3_mobilenetv2-w025_8xb8-12e_toy-det.py']

teacher_ckpt = None  # local path; set with --teacher-ckpt or --cfg-options
student_channels = 24
teacher_channels = 96

model = dict(
    _delete_=True,
    _scope_='mmrazor',
    type='PreprocessAwareDistill',
    architecture=_base_.model,
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
        distill_losses={f'loss_neck{i}': dict() for i in range(3)},
        loss_forward_mappings={
            f'loss_neck{i}': dict(
                preds_S=dict(from_student=True, recorder='neck', data_idx=i,
                             connector=f'neck{i}_s'),
                preds_T=dict(from_student=False, recorder='neck', data_idx=i))
            for i in range(3)
        }))
find_unused_parameters = True
