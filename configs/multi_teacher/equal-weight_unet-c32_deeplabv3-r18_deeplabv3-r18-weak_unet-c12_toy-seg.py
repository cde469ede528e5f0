# Baseline: equal-weight multi-teacher pixel KD with a deliberately weak third teacher
# (row `baseline:equal-weight-multi-teacher+weak`): the two teachers of
# equal-weight_unet-c32_deeplabv3-r18_unet-c12_toy-seg.py plus a DeepLabV3-R18-D8
# trained a tenth as long (240 iterations), each weighing 1/3 on every image. Same loss
# settings and weight as the two-teacher baseline. Checkpoints:
#   --cfg-options model.teachers.unet.ckpt_path=U.pth \
#       model.teachers.dlv3.ckpt_path=D.pth model.teachers.weak.ckpt_path=W.pth
_base_ = ['./equal-weight_unet-c32_deeplabv3-r18_unet-c12_toy-seg.py']
model = dict(
    teachers=dict(
        weak=dict(model=_base_.toy_seg_dlv3_teacher, ckpt_path=None,
                  feature='decode_head.bottleneck')))
