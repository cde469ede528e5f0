# Shared wiring for the toy RTMDet pair: teacher MobileNetV2 w1.0 + CSPNeXt-PAFPN (64
# channels) + RTMDetSepBNHead -> student w0.25 (32 channels), three levels. Recorded on
# both sides: the neck outputs, and the head outputs of each level as `<kind><i>` (kinds:
# cls / box; RTMDetSepBNHead has one rtm_cls / rtm_reg conv per level). A 1x1 adaptation
# conv per neck level on the student side (`neck<i>_s`). A method config sets
# `model.distiller.distill_losses` (one `loss_neck<i>` per level is wired here).
_base_ = ['../../detectors/rtmdet_mobilenetv2-w025_pafpn_8xb8-12e_toy-det.py']

teacher_ckpt = None  # local path; set with --teacher-ckpt or --cfg-options
teacher_cfg = 'kd_plugins::detectors/rtmdet_mobilenetv2-w100_pafpn_8xb8-12e_toy-det.py'
head_type = 'RTMDetHead'
num_levels = 3
student_channels = 32
teacher_channels = 64
head_sources = {'cls': 'bbox_head.rtm_cls.{i}', 'box': 'bbox_head.rtm_reg.{i}'}
head_in = {
    f'{kind}{i}': dict(recorder=f'{kind}{i}', record_idx=0)
    for kind in head_sources for i in range(num_levels)
}
recorders = dict(neck=dict(type='ModuleOutputs', source='neck'),
                 **{f'{kind}{i}': dict(type='ModuleOutputs', source=src.format(i=i))
                    for kind, src in head_sources.items() for i in range(num_levels)})
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
