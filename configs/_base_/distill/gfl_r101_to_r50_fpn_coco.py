# Shared wiring for the GFL R101-FPN ms-2x (teacher) -> R50-FPN 1x (student) on COCO.
# The student config's data, schedule, hooks and top-level data_preprocessor are kept.
# Recorded on both sides: the backbone and neck outputs, and the head outputs of each
# level as `<kind><i>` for level i (kinds: cls / box).
# gfl_cls is shared by the five levels (record_idx i is level i); a level's box
# distribution is the output of its Scale, bbox_head.scales.<i>.
# `head_in` maps each `<kind><level>` to its recorder and record index, for the loss
# mappings of a method config. A method config sets `model.distiller.distill_losses`
# (one `loss_neck<i>` per neck level is wired here: same widths, no adaptation layer).
_base_ = ['../../detectors/gfl_r50_fpn_1x_coco.py']

teacher_ckpt = None  # local path; set with --teacher-ckpt or --cfg-options
teacher_cfg = 'kd_plugins::detectors/gfl_r101_fpn_ms-2x_coco.py'
head_type = 'GFLHead'
num_levels = 5
student_neck_channels = 256
teacher_neck_channels = 256
student_backbone_channels = [256, 512, 1024, 2048]
teacher_backbone_channels = [256, 512, 1024, 2048]
head_sources = {
    'cls': ('bbox_head.gfl_cls', True),
    'box': ('bbox_head.scales.{i}', False),
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
# same neck widths on both sides: no adaptation layer
neck_connectors = dict()
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
                preds_S=dict(from_student=True, recorder='neck', data_idx=i),
                preds_T=dict(from_student=False, recorder='neck', data_idx=i))
            for i in range(num_levels)
        }))
find_unused_parameters = True
