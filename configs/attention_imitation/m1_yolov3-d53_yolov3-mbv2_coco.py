# M1 attention-guided distillation, YOLOv3 Darknet-53 (teacher) -> YOLOv3 MobileNetV2
# (student), COCO: the teacher's spatial + channel attention weight the imitation of the
# three neck outputs (1x1 adaptation convs 96 -> 512 / 256 / 128 channels), and the head
# outputs are distilled too: objectness / class scores as soft labels and box regression
# where the teacher is confident. Loss weights are untuned starting points at this scale:
# the toy config's first choices (before its gradient balancing), except the imitation
# weight, halved (1e-3 -> 5e-4) because the teacher's neck maps hold ~1.8x more channels
# per location than the toy's 96 (the loss sums over C x H x W; YOLOv3's own losses also
# sum over the maps).
#   tools/dist_train.sh THIS 8 --teacher-ckpt /path/to/yolov3-d53_coco_teacher.pth
_base_ = ['../_base_/distill/yolov3_d53_to_mbv2_coco.py',
          '../_base_/distill/m1_yolov3_d53_mbv2_losses.py']
# head recorders, losses and their inputs, the same for COCO and VOC: see the losses base
model = dict(distiller=_base_.m1_yolov3_distiller)
