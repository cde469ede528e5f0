# M1 attention-guided feature imitation on the three YOLOv3 neck outputs of the toy pair
# (feature part; the box-regression term comes with the method's full release).
#   tools/train.py THIS --teacher-ckpt work_dirs/teacher/epoch_12.pth
_base_ = ['../_base_/distill/yolov3_mbv2_w100_to_w025_neck_toy-det.py']
model = dict(
    distiller=dict(distill_losses={
        f'loss_neck{i}': dict(type='AttentionGuidedImitationLoss', temperature=0.5,
                              loss_weight=1e-3, attention_weight=0.1)
        for i in range(3)
    }))
