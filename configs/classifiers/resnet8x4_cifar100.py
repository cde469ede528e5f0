# resnet8x4 on CIFAR-100 (student of the KD-benchmark pair), the CIFAR KD tables' recipe:
# batch 64, 240 epochs (configs/_base_/schedules/cifar_kd_240e.py). Backbone:
# kd_plugins' CifarKDResNet (registered in mmpretrain).
_base_ = ['../_base_/datasets/cifar100.py', '../_base_/schedules/cifar_kd_240e.py',
          'mmpretrain::_base_/default_runtime.py', '../_base_/kd_runtime.py']
model = dict(
    type='ImageClassifier',
    backbone=dict(type='CifarKDResNet', arch='resnet8x4'),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='LinearClsHead', num_classes=100, in_channels=256,
              loss=dict(type='CrossEntropyLoss', loss_weight=1.0), topk=(1, 5)))
