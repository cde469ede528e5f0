# MMRazor's own DAFL (Chen et al., ICCV 2019: DAFLDataFreeDistillation with
# OnehotLikeLoss, InformationEntropyLoss and ActivationLoss on the teacher, KL on logits
# for the student) on the toy pair WRN-16-2 -> resnet8: a baseline for M7. It inherits
# the M7 toy config, so data, generator, optimisers, schedule and validation are the
# same; DAFL makes one student step per iteration, so it runs student_iter times as many
# iterations (the same student-step budget). Runs in one process thanks to kd_plugins'
# compat fix 4.
# MMRazor's algorithm has `teachers`, not `teacher`: set the checkpoint with
#   python tools/train.py THIS --cfg-options model.teachers.teacher.ckpt_path=T.pth
# (--teacher-ckpt does not apply to it).
# Loss weights: MMRazor's published defaults (protocol v2, rule 3: a baseline row starts
# from them, the benchmark sweeps x0.25, x1, x4 of them). Before protocol v2 the
# generator's were one-hot 1, information entropy 5, activation 0.1 (the DAFL code's MNIST
# defaults: ../_base_/distill/mmrazor_data_free.py, which the CIFAR-10 config keeps).
_base_ = ['../_base_/distill/mmrazor_data_free.py',
          '../dual_generator/m7_wrn-16-2_resnet8_toy-cls.py']

student_steps = _base_.max_iters * _base_.student_iter
val_interval = _base_.val_interval * _base_.student_iter
model = dict(
    _base_.dafl_model,
    _delete_=True,
    data_preprocessor=_base_.data_preprocessor,
    architecture=dict(_scope_='mmpretrain', **_base_.toy_cls_student),
    # the teacher's checkpoint: --cfg-options model.teachers.teacher.ckpt_path=T.pth
    teachers=dict(
        teacher=dict(build_cfg=dict(_scope_='mmpretrain', **_base_.toy_cls_teacher),
                     ckpt_path=None)),
    generator=_base_.generator,
    distiller=dict(
        _base_.dafl_model.distiller,
        distill_losses=dict(loss_kl=dict(
            # published default: 1, tau 6 (mmrazor::distill/mmcls/dafl/
            # dafl_logits_resnet34_resnet18_8xb256_cifar10.py), as before
            type='KLDivergence', tau=6, loss_weight=1.0))),
    generator_distiller=dict(
        _base_.dafl_model.generator_distiller,
        distill_losses=dict(
            # published default: one-hot 0.05, information entropy 5, activation 0.01
            # (the same MMRazor config; also the DAFL authors' CIFAR-10 command,
            # huawei-noah/Efficient-Computing DAFL README `--oh 0.05 --ie 5 --a 0.01`)
            loss_oh=dict(type='OnehotLikeLoss', loss_weight=0.05),
            loss_ie=dict(type='InformationEntropyLoss', loss_weight=5.0, gather=True),
            loss_ac=dict(type='ActivationLoss', loss_weight=0.01))))

# the generated batch size is the loader's batch size for MMRazor's algorithms
train_dataloader = dict(batch_size=_base_.batch_size)
optim_wrapper = dict(
    _delete_=True,
    constructor='mmrazor.SeparateOptimWrapperConstructor',
    architecture=_base_.optim_wrapper.architecture,
    generator=_base_.optim_wrapper.generator_hard)
param_scheduler = [
    dict(type='CosineAnnealingLR', by_epoch=False, begin=0, end=student_steps,
         T_max=student_steps, eta_min_ratio=0.01)
]
train_cfg = dict(by_epoch=False, max_iters=student_steps, val_interval=val_interval)
default_hooks = dict(checkpoint=dict(interval=val_interval))
# the loss weights the benchmark's sweep scales together (full dotted config paths): the
# student's KL and the generator's two regularisers (the DAFL paper's beta, information
# entropy, and alpha, activation); the generator's main term, one-hot, stays at its
# published weight (scaling every generator term alike would do nothing under Adam)
sweep_weights = [
    'model.distiller.distill_losses.loss_kl.loss_weight',
    'model.generator_distiller.distill_losses.loss_ie.loss_weight',
    'model.generator_distiller.distill_losses.loss_ac.loss_weight',
]
