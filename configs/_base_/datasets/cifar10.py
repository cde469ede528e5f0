# CIFAR-10, as mmpretrain ships it (data/cifar10/, python pickle format). No download:
# place the extracted `cifar-10-batches-py` folder there yourself (mmpretrain's CIFAR10
# downloads by default; download=False makes a missing folder an error instead).
# Batch 128 on one GPU (mmpretrain's 8 x 16 recipe).
_base_ = ['mmpretrain::_base_/datasets/cifar10_bs16.py']
train_dataloader = dict(batch_size=128, dataset=dict(download=False))
val_dataloader = dict(batch_size=128, dataset=dict(download=False))
test_dataloader = val_dataloader
