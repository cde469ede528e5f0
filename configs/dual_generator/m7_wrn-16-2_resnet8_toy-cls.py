# M7 dual-generator data-free distillation on the toy pair: WRN-16-2 teacher -> resnet8
# student, 10 toy classes at 32 px, no training images (validation on the toy val split).
# G1 (generator_hard) makes samples where student and teacher disagree, G2
# (generator_easy) samples the teacher is confident on, class-balanced, with its BN
# statistics; the student learns the teacher's logits on both. G1 is held to the teacher's
# BN statistics too (hard_bn_prior=True, since issue 19: the experiment row `M7-hard_bn`
# beat M7 without it on val, 0.413 vs 0.350 top-1 at the same sweep; the table before:
# benchmarks/history/2026-11-30-m7-no-hard-bn-prior/). MMRazor's DAFL and DFAD configs on
# the same pair (configs/mmrazor_dafl/, configs/mmrazor_dfad/) inherit this file: same
# generator, data, schedule and student-step budget.
#   python tools/make_toy_data.py cls --out data/toy_cls
#   python tools/train.py configs/classifiers/wrn-16-2_toy-cls.py --work-dir work_dirs/t
#   python tools/train.py THIS --teacher-ckpt work_dirs/t/epoch_30.pth
# Override with --cfg-options model.batch_size=..., model.student_iter=...,
# train_cfg.max_iters=... (the top-level variables below are read when the file is
# parsed; an override of them does not reach the model).
_base_ = ['../_base_/models/toy_cls_wrn-16-2.py', '../_base_/models/toy_cls_resnet8.py',
          '../_base_/datasets/toy_cls.py', '../_base_/datasets/data_free_placeholder.py',
          'mmpretrain::_base_/default_runtime.py', '../_base_/kd_runtime.py']

teacher_ckpt = None  # local path; set with --teacher-ckpt
batch_size = 32  # generated images per student step
student_iter = 5  # student steps per training iteration (as DFAD)
max_iters = 200  # training iterations: max_iters * student_iter student steps
val_interval = 50
generator = dict(type='DataFreeImageGenerator', img_size=32, latent_dim=128,
                 hidden_channels=64, out_channels=3, num_upsamples=2)

# the real images' preprocessing (validation), typed so mmrazor-scope models build it;
# generated images are already in the teacher's normalised input space
data_preprocessor = dict(type='mmpretrain.ClsDataPreprocessor',
                         **_base_.data_preprocessor)
model = dict(
    _scope_='mmrazor',
    type='DualGeneratorDataFreeDistill',
    data_preprocessor=data_preprocessor,
    architecture=_base_.toy_cls_student,
    teacher=_base_.toy_cls_teacher,
    teacher_ckpt=teacher_ckpt,
    generator_hard=generator,
    generator_easy=generator,
    batch_size=batch_size,
    hard_ratio=1.0,
    easy_ratio=1.0,
    hard_bn_prior=True,
    student_iter=student_iter,
    generator_iter=1,
    input_shape=(3, 32, 32),
    adversarial_loss=dict(type='HardSampleAdversarialLoss', loss_weight=1.0),
    onehot_loss=dict(type='TeacherOneHotLoss', loss_weight=1.0),
    info_entropy_loss=dict(type='ClassBalanceEntropyLoss', loss_weight=5.0),
    bn_stats_loss=dict(type='BNStatisticsLoss', loss_weight=0.1),
    distill_loss=dict(type='LogitsDistillLoss', mode='l1', loss_weight=1.0))

train_dataloader = dict(_delete_=True, **_base_.data_free_train_dataloader)
# student: SGD as DFAD, cosine decay over the run (all optimizers); generators: Adam
optim_wrapper = dict(
    constructor='mmrazor.SeparateOptimWrapperConstructor',
    architecture=dict(
        optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=5e-4)),
    generator_hard=dict(optimizer=dict(type='Adam', lr=1e-3, betas=(0.5, 0.999))),
    generator_easy=dict(optimizer=dict(type='Adam', lr=1e-3, betas=(0.5, 0.999))))
param_scheduler = [
    dict(type='CosineAnnealingLR', by_epoch=False, begin=0, end=max_iters,
         T_max=max_iters, eta_min_ratio=0.01)
]
train_cfg = dict(by_epoch=False, max_iters=max_iters, val_interval=val_interval)
val_cfg = dict()
test_cfg = dict()
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=10),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=val_interval,
                    max_keep_ckpts=1))
log_processor = dict(by_epoch=False)
# one DDP per trainable part (student, G1, G2), also on CPU (gloo); each process makes
# its own samples (different seeds per rank)
model_wrapper_cfg = dict(type='CPUAwareSeparateDistributedDataParallel')
randomness = dict(seed=0, diff_rank_seed=True)
# The loss weights protocol v2's sweep scales together (x0.25 / x1 / x4, ../shared/BENCHMARKS.md rule 3).
sweep_weights = [
    'model.distill_loss.loss_weight',
    'model.info_entropy_loss.loss_weight',
    'model.bn_stats_loss.loss_weight'
]
