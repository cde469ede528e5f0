# M5 on CIFAR-100, resnet32x4 -> resnet8x4 (the CRD KD-benchmark pair; 240 epochs,
# batch 64, configs/_base_/schedules/cifar_kd_240e.py). Nothing downloads: CIFAR-100
# under data/cifar100, the teacher from a local checkpoint:
#   python tools/train.py configs/classifiers/resnet32x4_cifar100.py   # the teacher
#   tools/dist_train.sh THIS 1 --teacher-ckpt work_dirs/resnet32x4_cifar100/epoch_240.pth
_base_ = ['../classifiers/resnet8x4_cifar100.py', '../_base_/distill/m5_pair.py']
teacher_backbone = dict(type='CifarKDResNet', arch='resnet32x4')
model = dict(
    _base_.m5_model,
    _delete_=True,
    data_preprocessor=dict(_base_.data_preprocessor,
                           type='mmpretrain.ClsDataPreprocessor'),
    architecture=dict(_base_.model,
                      backbone=dict(_base_.model.backbone, **_base_.stage_outputs)),
    teacher=dict(_base_.model, backbone=dict(teacher_backbone, **_base_.stage_outputs)),
    teacher_ckpt=_base_.teacher_ckpt)
