# MMRazor's own DFAD on the real pair ResNet-34 -> ResNet-18 (CIFAR-10), as MMRazor's
# dfad_logits_resnet34_resnet18_8xb32_cifar10.py but with local configs and checkpoint:
# the baseline of M7's real config, which this file inherits (data, generator,
# optimisers, schedule, validation, student steps per iteration).
#   python tools/train.py THIS --cfg-options model.teachers.teacher.ckpt_path=T.pth
_base_ = ['../_base_/distill/mmrazor_data_free.py',
          '../dual_generator/m7_resnet34_resnet18_cifar10.py']

model = dict(
    _base_.dfad_model,
    _delete_=True,
    data_preprocessor=_base_.data_preprocessor,
    architecture=_base_.student_cfg,
    # the teacher's checkpoint: --cfg-options model.teachers.teacher.ckpt_path=T.pth
    teachers=dict(teacher=dict(build_cfg=_base_.teacher_cfg, ckpt_path=None)),
    generator=_base_.generator,
    student_iter=_base_.student_iter)

# the generated batch size is the loader's batch size for MMRazor's algorithms
train_dataloader = dict(batch_size=_base_.batch_size)
optim_wrapper = dict(
    _delete_=True,
    constructor='mmrazor.SeparateOptimWrapperConstructor',
    architecture=_base_.optim_wrapper.architecture,
    generator=_base_.optim_wrapper.generator_hard)
