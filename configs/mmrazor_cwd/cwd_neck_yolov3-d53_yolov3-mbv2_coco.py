# MMRazor CWD on the three neck levels of YOLOv3-D53 -> YOLOv3-MobileNetV2 (COCO): the
# baseline next to M1 / M2 / M4 on the real pair, as the toy detection table's CWD row
# (cwd_neck_yolov3-mbv2-w100_yolov3-mbv2-w025_toy-det.py). The student's 96-channel
# levels reach the teacher's 512 / 256 / 128 through 1x1 connectors (the pair's neck
# base). Published default: weight 10 at tau 1
# (mmrazor::distill/mmdet/cwd/cwd_fpn_frcnn_r101_frcnn_r50_1x_coco.py).
_base_ = ['../_base_/distill/yolov3_d53_to_mbv2_coco.py']
model = dict(distiller=dict(distill_losses={
    f'loss_neck{i}': dict(type='ChannelWiseDivergence', tau=1, loss_weight=10)
    for i in range(3)
}))
sweep_weights = [f'model.distiller.distill_losses.loss_neck{i}.loss_weight'
                 for i in range(3)]
