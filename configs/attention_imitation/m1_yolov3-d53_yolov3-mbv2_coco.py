# M1 attention-guided distillation, YOLOv3 Darknet-53 (teacher) -> YOLOv3 MobileNetV2
# (student), COCO: the teacher's spatial + channel attention weight the imitation of the
# three neck outputs (1x1 adaptation convs 96 -> 512 / 256 / 128 channels), and the head
# outputs are distilled too: objectness / class scores as soft labels and box regression
# where the teacher is confident. Loss weights are untuned starting points at this
# scale: the toy config's choices, except the imitation weight, halved (1e-3 -> 5e-4)
# because the teacher's neck maps hold ~1.8x more channels per location than the toy's
# 96 (the loss sums over C x H x W; YOLOv3's own losses also sum over the maps).
#   tools/dist_train.sh THIS 8 --teacher-ckpt /path/to/yolov3-d53_coco_teacher.pth
_base_ = ['../_base_/distill/yolov3_d53_to_mbv2_coco.py']
temperature = 0.5  # attention softmax temperature
conf_thr = 0.3  # teacher confidence from which box outputs are distilled
model = dict(
    distiller=dict(
        # the three YOLOv3 level maps as head0..2 (see yolov3_d53_to_mbv2_neck.py)
        student_recorders=_base_.yolov3_head_recorders,
        teacher_recorders=_base_.yolov3_head_recorders,
        distill_losses=dict(
            **{
                f'loss_neck{i}': dict(type='AttentionGuidedImitationLoss',
                                      temperature=temperature, loss_weight=5e-4,
                                      attention_weight=0.1)
                for i in range(3)
            },
            **{
                f'loss_cls{i}': dict(type='ConfidenceSoftLabelLoss',
                                     head_type='YOLOV3Head', temperature=1.0,
                                     loss_weight=1.0)
                for i in range(3)
            },
            **{
                f'loss_reg{i}': dict(type='ConfidentRegressionLoss',
                                     head_type='YOLOV3Head', conf_thr=conf_thr,
                                     loss_weight=1.0)
                for i in range(3)
            }),
        loss_forward_mappings=dict(
            **{
                f'loss_{kind}{i}': dict(
                    preds_S=dict(from_student=True, recorder=f'head{i}'),
                    preds_T=dict(from_student=False, recorder=f'head{i}'))
                for kind in ('cls', 'reg') for i in range(3)
            })))
