# Shared wiring for the RTMDet-s (teacher) -> RTMDet-tiny (student) on COCO.
# The student config's data, schedule, hooks and top-level data_preprocessor are kept.
# Recorded on both sides: the backbone and neck outputs, and the head outputs of each
# level as `<kind><i>` for level i (kinds: cls / box).
# RTMDetSepBNHead has one rtm_cls / rtm_reg conv per level; rtm_reg gives the four
# side distances in stride units (exp_on_reg=False in both configs).
# `head_in` maps each `<kind><level>` to its recorder and record index, for the loss
# mappings of a method config. A method config sets `model.distiller.distill_losses`
# (one `loss_neck<i>` per neck level is wired here: through a 1x1 conv, neck<i>_s).
_base_ = ['../../detectors/rtmdet_tiny_8xb32-300e_coco.py']

teacher_ckpt = None  # local path; set with --teacher-ckpt or --cfg-options
teacher_cfg = 'kd_plugins::detectors/rtmdet_s_8xb32-300e_coco.py'
head_type = 'RTMDetHead'
num_levels = 3
student_neck_channels = 96
teacher_neck_channels = 128
student_backbone_channels = [96, 192, 384]
teacher_backbone_channels = [128, 256, 512]
head_sources = {
    'cls': ('bbox_head.rtm_cls.{i}', False),
    'box': ('bbox_head.rtm_reg.{i}', False),
}
head_in = {
    f'{kind}{i}': dict(recorder=f'{kind}{i}', record_idx=i if shared else 0)
    for kind, (_, shared) in head_sources.items() for i in range(num_levels)
}
head_recorders = {
    f'{kind}{i}': dict(type='ModuleOutputs', source=src.format(i=i))
    for kind, (src, _) in head_sources.items() for i in range(num_levels)
}
recorders = dict(neck=dict(type='ModuleOutputs', source='neck'),
                 backbone=dict(type='ModuleOutputs', source='backbone'),
                 **head_recorders)
# a 1x1 adaptation conv per neck level on the student side (96 -> 128 channels)
neck_connectors = {
    f'neck{i}_s': dict(type='ConvModuleConnector', in_channel=student_neck_channels,
                        out_channel=teacher_neck_channels, kernel_size=1, act_cfg=None,
                        norm_cfg=None)
    for i in range(num_levels)
}
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
        connectors=neck_connectors,
        distill_losses={f'loss_neck{i}': dict() for i in range(num_levels)},
        loss_forward_mappings={
            f'loss_neck{i}': dict(
                preds_S=dict(from_student=True, recorder='neck', data_idx=i,
                             connector=f'neck{i}_s'),
                preds_T=dict(from_student=False, recorder='neck', data_idx=i))
            for i in range(num_levels)
        }))
find_unused_parameters = True
