# ResNet-18 (mmpretrain's ResNet_CIFAR) on CIFAR-10: the student of the data-free pair
# (M7, MMRazor's DAFL / DFAD); trained alone, it is the no-KD baseline. The teacher's
# config (data, schedule) with the shallower network.
_base_ = ['./resnet34_cifar10.py']
model = dict(backbone=dict(depth=18))
