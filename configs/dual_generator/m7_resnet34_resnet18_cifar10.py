# M7 dual-generator data-free distillation, the real pair: ResNet-34 teacher -> ResNet-18
# student (mmpretrain's ResNet_CIFAR) on CIFAR-10, no training images; validation on the
# CIFAR-10 test set (data/cifar10, never downloaded). Schedule in the spirit of DFAD
# (Fang et al. 2019) for CIFAR-10: 256 generated images per student step, 5 student steps
# per iteration, 25k iterations (DFAD's 500 epochs x 50), student SGD lr 0.1,
# generators Adam 1e-3, lr x0.1 at 20% and 40% of the run. MMRazor's DAFL / DFAD on this
# pair inherit this file (configs/mmrazor_dafl/, configs/mmrazor_dfad/).
#   python tools/train.py configs/classifiers/resnet34_cifar10.py --work-dir work_dirs/r34
#   python tools/train.py THIS --teacher-ckpt work_dirs/r34/epoch_200.pth
# Override with --cfg-options model.batch_size=..., train_cfg.max_iters=... (the
# top-level variables below are read when the file is parsed).
_base_ = ['../_base_/datasets/cifar10.py', '../_base_/datasets/data_free_placeholder.py',
          'mmpretrain::_base_/default_runtime.py', '../_base_/kd_runtime.py']

teacher_ckpt = None  # local path; set with --teacher-ckpt
batch_size = 256  # generated images per student step
student_iter = 5  # student steps per training iteration
max_iters = 25000
val_interval = 500
generator = dict(type='DataFreeImageGenerator', img_size=32, latent_dim=256,
                 hidden_channels=128, out_channels=3, num_upsamples=2)
teacher_cfg = dict(cfg_path='kd_plugins::classifiers/resnet34_cifar10.py')
student_cfg = dict(cfg_path='kd_plugins::classifiers/resnet18_cifar10.py')

# the real images' preprocessing (validation), typed so mmrazor-scope models build it;
# generated images are already in the teacher's normalised input space
data_preprocessor = dict(type='mmpretrain.ClsDataPreprocessor',
                         **_base_.data_preprocessor)
model = dict(
    _scope_='mmrazor',
    type='DualGeneratorDataFreeDistill',
    data_preprocessor=data_preprocessor,
    architecture=student_cfg,
    teacher=teacher_cfg,
    teacher_ckpt=teacher_ckpt,
    generator_hard=generator,
    generator_easy=generator,
    batch_size=batch_size,
    hard_ratio=1.0,
    easy_ratio=1.0,
    hard_bn_prior=True,  # BN prior on G1 too: the toy benchmark's default (issue 19)
    student_iter=student_iter,
    generator_iter=1,
    input_shape=(3, 32, 32),
    adversarial_loss=dict(type='HardSampleAdversarialLoss', loss_weight=1.0),
    onehot_loss=dict(type='TeacherOneHotLoss', loss_weight=1.0),
    info_entropy_loss=dict(type='ClassBalanceEntropyLoss', loss_weight=5.0),
    bn_stats_loss=dict(type='BNStatisticsLoss', loss_weight=0.1),
    distill_loss=dict(type='LogitsDistillLoss', mode='l1', loss_weight=1.0))

train_dataloader = dict(_delete_=True, **_base_.data_free_train_dataloader)
optim_wrapper = dict(
    constructor='mmrazor.SeparateOptimWrapperConstructor',
    architecture=dict(
        optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=5e-4)),
    generator_hard=dict(optimizer=dict(type='Adam', lr=1e-3, betas=(0.5, 0.999))),
    generator_easy=dict(optimizer=dict(type='Adam', lr=1e-3, betas=(0.5, 0.999))))
param_scheduler = [
    dict(type='MultiStepLR', by_epoch=False, milestones=[max_iters // 5,
                                                         2 * max_iters // 5], gamma=0.1)
]
train_cfg = dict(by_epoch=False, max_iters=max_iters, val_interval=val_interval)
val_cfg = dict()
test_cfg = dict()
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=50),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=val_interval,
                    max_keep_ckpts=2))
log_processor = dict(by_epoch=False)
model_wrapper_cfg = dict(type='CPUAwareSeparateDistributedDataParallel')
randomness = dict(seed=0, diff_rank_seed=True)
