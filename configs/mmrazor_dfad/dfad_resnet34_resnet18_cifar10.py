# MMRazor's own DFAD on the real pair ResNet-34 -> ResNet-18 (CIFAR-10), as MMRazor's
# dfad_logits_resnet34_resnet18_8xb32_cifar10.py but with local configs and checkpoint:
# the baseline of M7's real config, which this file inherits (data, generator,
# optimisers, schedule, validation, student steps per iteration).
#   python tools/train.py THIS --cfg-options model.teachers.res34.ckpt_path=T.pth
_base_ = ['../dual_generator/m7_resnet34_resnet18_cifar10.py']

# L1 between student and teacher logits; the generator's copy has loss_weight=-1
logits_l1 = dict(
    type='ConfigurableDistiller',
    student_recorders=dict(fc=dict(type='ModuleOutputs', source='head.fc')),
    teacher_recorders=dict(fc=dict(type='ModuleOutputs', source='res34.head.fc')),
    distill_losses=dict(loss_l1=dict(type='L1Loss', loss_weight=1.0)),
    loss_forward_mappings=dict(loss_l1=dict(
        s_feature=dict(from_student=True, recorder='fc'),
        t_feature=dict(from_student=False, recorder='fc'))))

model = dict(
    _delete_=True,
    _scope_='mmrazor',
    type='DataFreeDistillation',
    data_preprocessor=_base_.data_preprocessor,
    architecture=_base_.student_cfg,
    teachers=dict(res34=dict(build_cfg=_base_.teacher_cfg)),
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
