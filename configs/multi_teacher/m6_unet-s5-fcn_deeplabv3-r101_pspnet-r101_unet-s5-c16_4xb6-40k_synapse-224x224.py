# M6 on Synapse multi-organ CT (9 classes: background + 8 organs; mmseg's Synapse data
# pipeline, 224x224 slices, 6 images per GPU; 40k iterations of mmseg's UNet recipe at 4
# GPUs). Teachers of different kinds: UNet-S5-D16 + FCN head (full-resolution decoder,
# mmseg's retinal-vessel teacher), DeepLabV3-R101-D8 and PSPNet-R101-D8 (dilated ResNet
# context models; configs/_base_/distill/r101-d8_seg_teachers.py), all with 9 classes ->
# UNet-S5 at base width 16 + FCN head (configs/_base_/distill/m6_unet-s5-c16_40k.py).
# mmseg ships no Synapse checkpoints of these: train each teacher first with its plain
# mmseg config (this config's teacher model, data and schedule; configs/segmentors/
# unet-s5-d16_fcn_, deeplabv3_r101-d8_ and pspnet_r101-d8_4xb6-40k_synapse-224x224.py),
# then pass the local checkpoints:
#   tools/dist_train.sh THIS 4 --cfg-options model.teachers.fcn.ckpt_path=FCN.pth \
#     model.teachers.deeplabv3.ckpt_path=DLV3.pth model.teachers.pspnet.ckpt_path=PSP.pth
#   mim train kd_plugins THIS --launcher pytorch --gpus 4 --cfg-options (the same three)
# The R101 backbones start from scratch unless given an ImageNet ResNetV1c-101 file when
# the teachers are trained (mmseg's 'open-mmlab://resnet101_v1c', fetched beforehand).
# The loss weights, band width 3 px included, are the toy M6 config's, not tuned on real
# data: re-check them with tools/benchmark/grad_balance.py (how: configs/_base_/distill/
# m6_seg.py) before a long run.
_base_ = ['mmseg::_base_/datasets/synapse.py', '../_base_/distill/m6_unet-s5-c16_40k.py',
          '../_base_/distill/r101-d8_seg_teachers.py']
data_preprocessor = dict(size=(224, 224))  # the runner's and the student's
model = dict(
    architecture=dict(data_preprocessor=data_preprocessor,
                      decode_head=dict(num_classes=9), auxiliary_head=dict(num_classes=9),
                      test_cfg=dict(_delete_=True, mode='whole')),
    teachers=dict(
        fcn=dict(model=dict(
            _base_.unet_s5_d16_fcn, test_cfg=dict(mode='whole'),
            decode_head=dict(_base_.unet_s5_d16_fcn.decode_head, num_classes=9),
            auxiliary_head=dict(_base_.unet_s5_d16_fcn.auxiliary_head, num_classes=9))),
        deeplabv3=dict(model=dict(
            _base_.deeplabv3_r101_d8,
            decode_head=dict(_base_.deeplabv3_r101_d8.decode_head, num_classes=9),
            auxiliary_head=dict(_base_.deeplabv3_r101_d8.auxiliary_head, num_classes=9))),
        pspnet=dict(model=dict(
            _base_.pspnet_r101_d8,
            decode_head=dict(_base_.pspnet_r101_d8.decode_head, num_classes=9),
            auxiliary_head=dict(_base_.pspnet_r101_d8.auxiliary_head, num_classes=9)))))
val_evaluator = _base_.seg_boundary_evaluator
test_evaluator = val_evaluator
