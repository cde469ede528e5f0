# WRN-16-2 on CIFAR-100 (student of the WRN-40-2 -> WRN-16-2 KD-benchmark pair): the
# teacher's config (data, CRD schedule) with the shallower network.
_base_ = ['./wrn-40-2_cifar100.py']
model = dict(backbone=dict(depth=16))
