# Shared wiring for the toy RetinaNet pair: teacher RetinaNet MobileNetV2 w1.0 (FPN 64
# channels) -> student w0.25 (FPN 32 channels), three levels. Recorded on both sides:
# the neck outputs, and the head outputs of each level as `<kind><i>` (kinds: cls /
# box; retina_cls / retina_reg are shared by the levels: record_idx i is level i). A 1x1
# adaptation conv per neck level on the student side (`neck<i>_s`). A method config
# sets `model.distiller.distill_losses` (one `loss_neck<i>` per level is wired here).
_base_ = ['../../detectors/retinanet_mobilenetv2-w025_fpn_8xb8-12e_toy-det.py']

teacher_ckpt = None  # local path; set with --teacher-ckpt or --cfg-options
teacher_cfg = 'kd_plugins::detectors/retinanet_mobilenetv2-w100_fpn_8xb8-12e_toy-det.py'
head_type = 'RetinaHead'
num_levels = 3
student_channels = 32
teacher_channels = 64
head_sources = {'cls': 'bbox_head.retina_cls', 'box': 'bbox_head.retina_reg'}
head_in = {
    f'{kind}{i}': dict(recorder=kind, record_idx=i)
    for kind in head_sources for i in range(num_levels)
}
recorders = dict(neck=dict(type='ModuleOutputs', source='neck'),
                 **{kind: dict(type='ModuleOutputs', source=src)
                    for kind, src in head_sources.items()})
model = dict(
    _delete_=True,
    _scope_='mmrazor',
    type='PreprocessAwareDistill',
    architecture=_base_.model,
    teacher=dict(cfg_path=teacher_cfg),
    teacher_ckpt=teacher_ckpt,
    distiller=dict(
        type='ConfigurableDistiller',
        student_recorders=recorders,
        teacher_recorders=recorders,
        connectors={
            f'neck{i}_s': dict(type='ConvModuleConnector', in_channel=student_channels,
                               out_channel=teacher_channels, kernel_size=1,
                               act_cfg=None, norm_cfg=None)
            for i in range(num_levels)
        },
        distill_losses={f'loss_neck{i}': dict() for i in range(num_levels)},
        loss_forward_mappings={
            f'loss_neck{i}': dict(
                preds_S=dict(from_student=True, recorder='neck', data_idx=i,
                             connector=f'neck{i}_s'),
                preds_T=dict(from_student=False, recorder='neck', data_idx=i))
            for i in range(num_levels)
        }))
find_unused_parameters = True
