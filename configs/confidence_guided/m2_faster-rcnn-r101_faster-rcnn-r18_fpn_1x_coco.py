# M2 confidence-guided distillation, Faster R-CNN R101-FPN (2x) -> R18-FPN (1x), COCO:
# m2_faster-rcnn-r101_faster-rcnn-r50_fpn_1x_coco.py (same losses, weights and recorders:
# every M2 term reads the FPN, the RPN or the RoI head, all of the same shapes for R18 and
# R50) with the student of detectors/faster-rcnn_r18_fpn_1x_coco.py: ResNet-18 backbone,
# FPN in_channels 64 / 128 / 256 / 512. The student is changed in place because that
# config is not built on a shared base. use_gt=False. Loss weights are untuned starting
# points at COCO scale.
#   tools/dist_train.sh THIS 8 --teacher-ckpt /path/to/faster-rcnn_r101_fpn_2x_coco.pth
_base_ = ['./m2_faster-rcnn-r101_faster-rcnn-r50_fpn_1x_coco.py']
model = dict(
    architecture=dict(
        backbone=dict(depth=18, init_cfg=None),
        neck=dict(in_channels=[64, 128, 256, 512])))
