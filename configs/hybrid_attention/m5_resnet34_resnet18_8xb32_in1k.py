# M5 on ImageNet-1k, ResNet-34 -> ResNet-18 with mmpretrain's own models and 100-epoch
# recipe (8 GPUs x 32 images). Stages 1-3 (28/14/7 px at 224 input; equal widths
# 128/256/512, so no channel selection). The teacher from a local checkpoint, e.g. one
# trained with mmpretrain::resnet/resnet34_8xb32_in1k.py:
#   tools/dist_train.sh THIS 8 --teacher-ckpt /path/to/resnet34_8xb32_in1k.pth
_base_ = ['mmpretrain::_base_/models/resnet18.py', '../_base_/datasets/imagenet.py',
          'mmpretrain::_base_/schedules/imagenet_bs256.py',
          'mmpretrain::_base_/default_runtime.py', '../_base_/kd_runtime.py',
          '../_base_/distill/m5_pair.py']
stage_outputs = dict(out_indices=(1, 2, 3))
model = dict(
    _base_.m5_model,
    _delete_=True,
    stages=(1, 2, 3),
    probe_shape=(3, 224, 224),
    data_preprocessor=dict(_base_.data_preprocessor,
                           type='mmpretrain.ClsDataPreprocessor'),
    architecture=dict(_base_.model,
                      backbone=dict(_base_.model.backbone, **stage_outputs)),
    teacher=dict(_base_.model,
                 backbone=dict(_base_.model.backbone, depth=34, **stage_outputs)),
    teacher_ckpt=_base_.teacher_ckpt)
