# MMRazor's own DFAD (Fang et al., 2019: DataFreeDistillation; the generator maximises the
# L1 distance of student and teacher logits, L1Loss with loss_weight=-1, the student
# minimises it) on the toy pair WRN-16-2 -> resnet8: a baseline for M7. It inherits the
# M7 toy config, so data, generator, optimisers, schedule, validation and the student-step
# budget (student_iter student steps per iteration) are the same. Runs in one process
# thanks to kd_plugins' compat fix 4.
# MMRazor's algorithm has `teachers`, not `teacher`: set the checkpoint with
#   python tools/train.py THIS --cfg-options model.teachers.wrn16.ckpt_path=T.pth
# (--teacher-ckpt does not apply to it).
_base_ = ['../dual_generator/m7_wrn-16-2_resnet8_toy-cls.py']

# L1 between student and teacher logits; the generator's copy has loss_weight=-1
logits_l1 = dict(
    type='ConfigurableDistiller',
    student_recorders=dict(fc=dict(type='ModuleOutputs', source='head.fc')),
    teacher_recorders=dict(fc=dict(type='ModuleOutputs', source='wrn16.head.fc')),
    distill_losses=dict(loss_l1=dict(type='L1Loss', loss_weight=1.0)),
    loss_forward_mappings=dict(loss_l1=dict(
        s_feature=dict(from_student=True, recorder='fc'),
        t_feature=dict(from_student=False, recorder='fc'))))

model = dict(
    _delete_=True,
    _scope_='mmrazor',
    type='DataFreeDistillation',
    data_preprocessor=_base_.data_preprocessor,
    architecture=dict(_scope_='mmpretrain', **_base_.toy_cls_student),
    teachers=dict(
        wrn16=dict(build_cfg=dict(_scope_='mmpretrain', **_base_.toy_cls_teacher))),
    generator=_base_.generator,
    distiller=logits_l1,
    generator_distiller=dict(
        logits_l1, distill_losses=dict(loss_l1=dict(type='L1Loss', loss_weight=-1.0))),
    student_iter=_base_.student_iter,
    student_train_first=True)

# the generated batch size is the loader's batch size for MMRazor's algorithms
train_dataloader = dict(batch_size=_base_.batch_size)
optim_wrapper = dict(
    _delete_=True,
    constructor='mmrazor.SeparateOptimWrapperConstructor',
    architecture=_base_.optim_wrapper.architecture,
    generator=_base_.optim_wrapper.generator_hard)
