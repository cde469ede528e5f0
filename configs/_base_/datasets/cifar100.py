# CIFAR-100, as mmpretrain ships it (data/cifar100/, python pickle format). No download:
# place the extracted `cifar-100-python` folder there yourself (mmpretrain's CIFAR100
# downloads by default; download=False makes a missing folder an error instead).
# Batch 64 per GPU, the CIFAR KD benchmarks' batch.
_base_ = ['mmpretrain::_base_/datasets/cifar100_bs16.py']
train_dataloader = dict(batch_size=64, dataset=dict(download=False))
val_dataloader = dict(batch_size=64, dataset=dict(download=False))
test_dataloader = val_dataloader
