# Teacher `pspnet` of M6 on Synapse (PSPNet-R101-D8, 9 classes) as a plain mmseg
# model, to train before distilling: mmseg ships no Synapse checkpoint of it. The model
# is exactly `model.teachers.pspnet.model` of configs/multi_teacher/m6_unet-s5-fcn_
# deeplabv3-r101_pspnet-r101_unet-s5-c16_4xb6-40k_synapse-224x224.py (so its checkpoint
# loads there as it is), with that config's data (224x224 slices, 6 per GPU), mmseg's
# 40k-iteration UNet schedule and its evaluator (mIoU, mDice, boundary F):
#   tools/dist_train.sh THIS 4
#   mim train kd_plugins THIS --launcher pytorch --gpus 4      (the same)
# then distil with
#   --cfg-options model.teachers.pspnet.ckpt_path=work_dirs/<THIS>/iter_40000.pth
# The ResNetV1c-101 starts from scratch; an ImageNet one (mmseg's resnet101_v1c, fetched
# beforehand) helps: --cfg-options model.pretrained=checkpoints/resnet101_v1c.pth
_base_ = [
    '../multi_teacher/m6_unet-s5-fcn_deeplabv3-r101_pspnet-r101_unet-s5-c16_4xb6-40k_'
    'synapse-224x224.py'
]
teacher = _base_.model.teachers.pspnet.model
model = dict(teacher, _delete_=True,
             data_preprocessor=dict(teacher.data_preprocessor, size=(224, 224)))
