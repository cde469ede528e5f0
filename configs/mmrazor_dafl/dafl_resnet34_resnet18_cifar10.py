# MMRazor's own DAFL on the real pair ResNet-34 -> ResNet-18 (CIFAR-10): the baseline of
# M7's real config, which this file inherits (data, generator, optimisers, validation;
# one student step per iteration, so student_iter times as many iterations).
#   python tools/train.py THIS --cfg-options model.teachers.teacher.ckpt_path=T.pth
_base_ = ['../_base_/distill/mmrazor_data_free.py',
          '../dual_generator/m7_resnet34_resnet18_cifar10.py']

student_steps = _base_.max_iters * _base_.student_iter
val_interval = _base_.val_interval * _base_.student_iter
model = dict(
    _base_.dafl_model,
    _delete_=True,
    data_preprocessor=_base_.data_preprocessor,
    architecture=_base_.student_cfg,
    # the teacher's checkpoint: --cfg-options model.teachers.teacher.ckpt_path=T.pth
    teachers=dict(teacher=dict(build_cfg=_base_.teacher_cfg, ckpt_path=None)),
    generator=_base_.generator)

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
