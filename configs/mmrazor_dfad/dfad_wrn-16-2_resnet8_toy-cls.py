# MMRazor's own DFAD (Fang et al., 2019: DataFreeDistillation; the generator maximises the
# L1 distance of student and teacher logits, L1Loss with loss_weight=-1, the student
# minimises it) on the toy pair WRN-16-2 -> resnet8: a baseline for M7. It inherits the
# M7 toy config, so data, generator, optimisers, schedule, validation and the student-step
# budget (student_iter student steps per iteration) are the same. Runs in one process
# thanks to kd_plugins' compat fix 4.
# MMRazor's algorithm has `teachers`, not `teacher`: set the checkpoint with
#   python tools/train.py THIS --cfg-options model.teachers.teacher.ckpt_path=T.pth
# (--teacher-ckpt does not apply to it).
# Loss weights: MMRazor's published defaults (protocol v2, rule 3: a baseline row starts
# from them, the benchmark sweeps x0.25, x1, x4 of them); unchanged by protocol v2.
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
    distiller=dict(
        _base_.dfad_model.distiller,
        distill_losses=dict(loss_l1=dict(
            # published default: 1.0 (mmrazor::distill/mmcls/dfad/
            # dfad_logits_resnet34_resnet18_8xb32_cifar10.py, the student's L1)
            type='L1Loss', loss_weight=1.0))),
    generator_distiller=dict(
        _base_.dfad_model.generator_distiller,
        distill_losses=dict(loss_l1=dict(
            # published default: -1.0 (the same config: the generator maximises the L1)
            type='L1Loss', loss_weight=-1.0))),
    # published: 5 student steps per generator step (the same config), as M7's toy config
    student_iter=_base_.student_iter)

# the generated batch size is the loader's batch size for MMRazor's algorithms
train_dataloader = dict(batch_size=_base_.batch_size)
optim_wrapper = dict(
    _delete_=True,
    constructor='mmrazor.SeparateOptimWrapperConstructor',
    architecture=_base_.optim_wrapper.architecture,
    generator=_base_.optim_wrapper.generator_hard)
# the loss weights the benchmark's sweep scales (full dotted config paths): the student's
# L1 (the engine's default); the generator's -L1 is its only term and stays at its
# published -1 (scaling it would do nothing under Adam)
sweep_weights = ['model.distiller.distill_losses.loss_l1.loss_weight']
