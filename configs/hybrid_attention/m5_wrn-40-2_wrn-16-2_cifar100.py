# M5 on CIFAR-100, WRN-40-2 -> WRN-16-2 (the CRD KD-benchmark pair; 240 epochs, batch 64).
#   python tools/train.py configs/classifiers/wrn-40-2_cifar100.py   # the teacher
#   tools/dist_train.sh THIS 1 --teacher-ckpt work_dirs/wrn-40-2_cifar100/epoch_240.pth
_base_ = ['../classifiers/wrn-16-2_cifar100.py', '../_base_/distill/m5_pair.py']
teacher_backbone = dict(type='WideResNet', depth=40, widen_factor=2)
model = dict(
    _base_.m5_model,
    _delete_=True,
    data_preprocessor=dict(_base_.data_preprocessor,
                           type='mmpretrain.ClsDataPreprocessor'),
    architecture=dict(_base_.model,
                      backbone=dict(_base_.model.backbone, **_base_.stage_outputs)),
    teacher=dict(_base_.model, backbone=dict(teacher_backbone, **_base_.stage_outputs)),
    teacher_ckpt=_base_.teacher_ckpt)
