# M2 confidence-guided distillation, YOLOv3 Darknet-53 (teacher) -> YOLOv3 MobileNetV2
# (student), COCO. The teacher's confidence (objectness x class score) gives
# temperature-scaled soft labels for the student's head, the box targets where it is
# confident, and the neck regions to distil (1x1 adaptation convs 96 -> 512 / 256 / 128
# channels). use_gt=False: no distillation term reads a ground-truth box. Loss weights are
# the toy config's first ones (before its gradient balancing), untuned starting points at
# this scale (the feature term is a normalised mean; the soft-label term sums over the
# maps like YOLOv3's own losses).
#   tools/dist_train.sh THIS 8 --teacher-ckpt /path/to/yolov3-d53_coco_teacher.pth
_base_ = ['../_base_/distill/yolov3_d53_to_mbv2_coco.py',
          '../_base_/distill/m2_yolov3_d53_mbv2_losses.py']
use_gt = False
# head recorders, losses and their inputs, the same for COCO and VOC: see the losses base
model = dict(type='ConfidenceGuidedDistill', use_gt=use_gt,
             distiller=_base_.m2_yolov3_distiller)
