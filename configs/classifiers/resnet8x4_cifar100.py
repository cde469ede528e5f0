# resnet8x4 on CIFAR-100 (student of the resnet32x4 -> resnet8x4 KD-benchmark pair):
# the teacher's config (data, CRD schedule) with the shallower network.
_base_ = ['./resnet32x4_cifar100.py']
model = dict(backbone=dict(arch='resnet8x4'))
