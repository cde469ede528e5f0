# MMRazor's own DFAD (Fang et al., 2019: DataFreeDistillation; the generator maximises the
# L1 distance of student and teacher logits, L1Loss with loss_weight=-1, the student
# minimises it) on the toy pair WRN-16-2 -> resnet8: a baseline for M7. It inherits the
# M7 toy config, so data, generator, optimisers, schedule, validation and the student-step
# budget (student_iter student steps per iteration) are the same. Runs in one process
# thanks to kd_plugins' compat fix 4.
# MMRazor's algorithm has `teachers`, not `teacher`: set the checkpoint with
#   python tools/train.py THIS --cfg-options model.teachers.teacher.ckpt_path=T.pth
# (--teacher-ckpt does not apply to it).
_base_ = ['../_base_/distill/mmrazor_data_free.py',
          '../dual_generator/m7_wrn-16-2_resnet8_toy-cls.py']

model = dict(
    _base_.dfad_model,
    _delete_=True,
    data_preprocessor=_base_.data_preprocessor,
    architecture=dict(_scope_='mmpretrain', **_base_.toy_cls_student),
    # the teacher's checkpoint: --cfg-options model.teachers.teacher.ckpt_path=T.pth
    teachers=dict(
        teacher=dict(build_cfg=dict(_scope_='mmpretrain', **_base_.toy_cls_teacher),
                     ckpt_path=None)),
    generator=_base_.generator,
    student_iter=_base_.student_iter)

# the generated batch size is the loader's batch size for MMRazor's algorithms
train_dataloader = dict(batch_size=_base_.batch_size)
optim_wrapper = dict(
    _delete_=True,
    constructor='mmrazor.SeparateOptimWrapperConstructor',
    architecture=_base_.optim_wrapper.architecture,
    generator=_base_.optim_wrapper.generator_hard)
