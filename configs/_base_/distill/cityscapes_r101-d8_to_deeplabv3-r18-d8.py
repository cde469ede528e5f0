# Shared wiring of the Cityscapes distillation configs (M6, its equal-weight baseline,
# MMRazor CWD): mmseg's Cityscapes recipe (configs/_base_/datasets/cityscapes.py,
# 512x1024 crops, 2 images per GPU; 80k iterations of SGD lr 0.01 poly; default runtime)
# and the models, as named variables:
#
#   deeplabv3_r18_d8    the student: the model of mmseg::deeplabv3/deeplabv3_r18-d8_4xb2-
#                       80k_cityscapes-512x1024.py (ResNetV1c-18-D8, ASPP 128 channels)
#   deeplabv3_r101_d8   teachers (r101-d8_seg_teachers.py), mmseg's R101-D8 Cityscapes
#   pspnet_r101_d8      models
#
# Nothing downloads: mmseg's configs initialise the backbones from 'open-mmlab://resnet*'
# (pretrained=None here). The teachers take their checkpoints from local files; the
# student starts from scratch unless given an ImageNet ResNetV1c-18 file (the one mmseg
# names 'open-mmlab://resnet18_v1c', fetched beforehand):
#   --cfg-options model.architecture.pretrained=/path/to/resnet18_v1c.pth
_base_ = ['../datasets/cityscapes.py', 'mmseg::_base_/schedules/schedule_80k.py',
          'mmseg::_base_/default_runtime.py', '../kd_runtime.py',
          './r101-d8_seg_teachers.py']
crop_size = (512, 1024)
deeplabv3_r18_d8 = dict(
    _base_.deeplabv3_r101_d8,
    data_preprocessor=dict(_base_.deeplabv3_r101_d8.data_preprocessor, size=crop_size),
    backbone=dict(_base_.deeplabv3_r101_d8.backbone, depth=18),
    decode_head=dict(_base_.deeplabv3_r101_d8.decode_head, in_channels=512, channels=128),
    auxiliary_head=dict(_base_.deeplabv3_r101_d8.auxiliary_head, in_channels=256,
                        channels=64))
val_evaluator = [dict(type='IoUMetric', iou_metrics=['mIoU', 'mDice']),
                 dict(type='BoundaryFScore', tolerance=2)]
test_evaluator = val_evaluator
