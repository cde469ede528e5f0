# MMRazor's own DAFL on the real pair ResNet-34 -> ResNet-18 (CIFAR-10): the baseline of
# M7's real config, which this file inherits (data, generator, optimisers, validation;
# one student step per iteration, so student_iter times as many iterations).
#   python tools/train.py THIS --cfg-options model.teachers.res34.ckpt_path=T.pth
_base_ = ['../dual_generator/m7_resnet34_resnet18_cifar10.py']

student_steps = _base_.max_iters * _base_.student_iter
val_interval = _base_.val_interval * _base_.student_iter
model = dict(
    _delete_=True,
    _scope_='mmrazor',
    type='DAFLDataFreeDistillation',
    data_preprocessor=_base_.data_preprocessor,
    architecture=_base_.student_cfg,
    teachers=dict(res34=dict(build_cfg=_base_.teacher_cfg)),
    generator=_base_.generator,
    distiller=dict(
        type='ConfigurableDistiller',
        student_recorders=dict(fc=dict(type='ModuleOutputs', source='head.fc')),
        teacher_recorders=dict(fc=dict(type='ModuleOutputs', source='res34.head.fc')),
        distill_losses=dict(loss_kl=dict(type='KLDivergence', tau=6, loss_weight=1)),
        loss_forward_mappings=dict(loss_kl=dict(
            preds_S=dict(from_student=True, recorder='fc'),
            preds_T=dict(from_student=False, recorder='fc')))),
    generator_distiller=dict(
        type='ConfigurableDistiller',
        teacher_recorders=dict(
            gap=dict(type='ModuleOutputs', source='res34.neck.gap'),
            fc=dict(type='ModuleOutputs', source='res34.head.fc')),
        distill_losses=dict(
            loss_oh=dict(type='OnehotLikeLoss', loss_weight=1.0),
            loss_ie=dict(type='InformationEntropyLoss', loss_weight=5.0, gather=True),
            loss_ac=dict(type='ActivationLoss', loss_weight=0.1)),
        loss_forward_mappings=dict(
            loss_oh=dict(preds_T=dict(from_student=False, recorder='fc')),
            loss_ie=dict(preds_T=dict(from_student=False, recorder='fc')),
            loss_ac=dict(feat_T=dict(from_student=False, recorder='gap')))))

# the generated batch size is the loader's batch size for MMRazor's algorithms
train_dataloader = dict(batch_size=_base_.batch_size)
optim_wrapper = dict(
    _delete_=True,
    constructor='mmrazor.SeparateOptimWrapperConstructor',
    architecture=_base_.optim_wrapper.architecture,
    generator=_base_.optim_wrapper.generator_hard)
param_scheduler = [
    dict(type='MultiStepLR', by_epoch=False,
         milestones=[student_steps // 5, 2 * student_steps // 5], gamma=0.1)
]
train_cfg = dict(by_epoch=False, max_iters=student_steps, val_interval=val_interval)
default_hooks = dict(checkpoint=dict(interval=val_interval))
