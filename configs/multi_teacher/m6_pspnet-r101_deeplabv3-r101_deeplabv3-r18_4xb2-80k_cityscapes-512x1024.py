# M6 on Cityscapes (19 classes; mmseg's 512x1024 recipe, 80k iterations at 4 GPUs x 2
# images): PSPNet-R101-D8 + DeepLabV3-R101-D8 teachers -> DeepLabV3-R18-D8 student, the
# models of mmseg's pspnet_r101-d8_, deeplabv3_r101-d8_ and deeplabv3_r18-d8_4xb2-80k_
# cityscapes-512x1024.py (configs/_base_/distill/cityscapes_r101-d8_to_deeplabv3-r18-
# d8.py).
# Teacher checkpoints are local files, e.g. mmseg's model-zoo weights of those two
# configs, fetched beforehand (`mim download mmsegmentation --config
# pspnet_r101-d8_4xb2-80k_cityscapes-512x1024 --dest checkpoints/`, likewise
# deeplabv3_r101-d8_4xb2-80k_cityscapes-512x1024):
#   tools/dist_train.sh THIS 4 --cfg-options model.teachers.pspnet.ckpt_path=PSP.pth \
#       model.teachers.deeplabv3.ckpt_path=DLV3.pth
#   mim train kd_plugins THIS --launcher pytorch --gpus 4 --cfg-options (the same two)
# ImageNet start for the student: model.architecture.pretrained=/path/to/resnet18_v1c.pth.
# Feature term on the ASPP / PPM bottlenecks (all at 1/8 resolution; student 128
# channels, teachers 512, through 1x1 adapters). The loss weights, band width 3 px
# included, are the toy M6 config's, not tuned on real data: re-check them with
# tools/benchmark/grad_balance.py (how: configs/_base_/distill/m6_seg.py) before a long
# run.
_base_ = ['../_base_/distill/cityscapes_r101-d8_to_deeplabv3-r18-d8.py',
          '../_base_/distill/m6_seg.py']
model = dict(
    _base_.m6_model,
    architecture=_base_.deeplabv3_r18_d8,
    teachers=dict(
        pspnet=dict(model=_base_.pspnet_r101_d8, ckpt_path=None,
                    feature='decode_head.bottleneck'),
        deeplabv3=dict(model=_base_.deeplabv3_r101_d8, ckpt_path=None,
                       feature='decode_head.bottleneck')),
    student_feature='decode_head.bottleneck')
