# M4 information-map distillation, YOLOv3 Darknet-53 (teacher) -> YOLOv3 MobileNetV2
# (student), COCO: the teacher's information map weights feature distillation at the three
# backbone outputs (1x1 adaptation convs 32 / 96 / 320 -> 256 / 512 / 1024 channels) and
# the three neck outputs (96 -> 512 / 256 / 128), each level with its own adaptation conv.
# Loss weights are the toy config's first ones, before its gradient balancing (the loss is
# a mean over locations and channels, so it does not grow with the maps), untuned starting
# points at this scale.
#   tools/dist_train.sh THIS 8 --teacher-ckpt /path/to/yolov3-d53_coco_teacher.pth
_base_ = ['../_base_/distill/yolov3_d53_to_mbv2_coco.py',
          '../_base_/distill/m4_yolov3_d53_mbv2_losses.py']
# backbone recorders and adaptation convs, losses and their inputs, the same for COCO and
# VOC: see the losses base
model = dict(distiller=_base_.m4_yolov3_distiller)
