# M6 with a deliberately weak third teacher (the differential-weighting claim of M6,
# ablation row `M6-plus_weak` of the segmentation benchmark): the two teachers of
# m6_unet-c32_deeplabv3-r18_unet-c12_toy-seg.py plus a DeepLabV3-R18-D8 trained a tenth
# as long (240 iterations). Same loss settings and weights as M6; per-image weighting
# should give the weak teacher little say. Checkpoints:
#   --cfg-options model.teachers.unet.ckpt_path=U.pth \
#       model.teachers.dlv3.ckpt_path=D.pth model.teachers.weak.ckpt_path=W.pth
_base_ = ['./m6_unet-c32_deeplabv3-r18_unet-c12_toy-seg.py']
model = dict(
    teachers=dict(
        weak=dict(model=_base_.toy_seg_dlv3_teacher, ckpt_path=None,
                  feature='decode_head.bottleneck')))
