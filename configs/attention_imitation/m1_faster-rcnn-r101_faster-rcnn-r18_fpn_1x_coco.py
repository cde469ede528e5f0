# M1 attention-guided distillation, Faster R-CNN R101-FPN 2x (teacher) -> R18-FPN 1x
# (student), COCO: the teacher's spatial + channel attention weight the imitation of the
# five FPN levels (256 channels on both sides, no adaptation layer), and the RPN outputs
# are distilled too, per level: objectness (rpn_cls) as soft labels and box deltas
# (rpn_reg) where the teacher's objectness is confident. Loss weights are untuned starting
# points at COCO scale. The imitation loss sums over C x H x W: at ~1333x800 the five FPN
# levels hold ~23M values per image (~450x the toy's neck maps) while Faster R-CNN's own
# losses are O(1) means, hence 1e-6 instead of the toy's first 1e-3. The RPN soft label
# loss sums over all anchors (~200k per image) and gets 1e-3, as in the M2 Faster R-CNN
# config; the regression term is a weighted mean (1.0, the toy's first choice).
#   tools/dist_train.sh THIS 8 --teacher-ckpt /path/to/faster-rcnn_r101_fpn_2x_coco.pth
# The R50 config with the student of detectors/faster-rcnn_r18_fpn_1x_coco.py (ResNet-18
# backbone, FPN in_channels 64 / 128 / 256 / 512): every M1 term reads the FPN or the RPN,
# of the same shapes for R18 and R50.
_base_ = ['./m1_faster-rcnn-r101_faster-rcnn-r50_fpn_1x_coco.py']
student_backbone_channels = _base_.resnet_backbone_channels['r18']
model = dict(
    architecture=dict(
        backbone=dict(depth=18, init_cfg=None),
        neck=dict(in_channels=student_backbone_channels)))
