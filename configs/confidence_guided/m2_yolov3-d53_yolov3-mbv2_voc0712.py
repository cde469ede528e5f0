# M2 confidence-guided distillation, YOLOv3 Darknet-53 (teacher) -> YOLOv3 MobileNetV2
# (student), Pascal VOC 07+12. The teacher's confidence (objectness x class score) gives
# temperature-scaled soft labels for the student's head, the box targets where it is
# confident, and the neck regions to distil (1x1 adaptation convs 96 -> 512 / 256 / 128
# channels). use_gt=False: no distillation term reads a ground-truth box. Loss weights
# are the toy config's, untuned starting points at this scale (the feature term is a
# normalised mean; the soft-label term sums over the maps like YOLOv3's own losses).
#   tools/dist_train.sh THIS 8 --teacher-ckpt /path/to/yolov3-d53_voc0712_teacher.pth
_base_ = ['../_base_/distill/yolov3_d53_to_mbv2_voc0712.py']
use_gt = False
temperature = 2.0  # soft-label temperature
conf_thr = 0.3  # teacher confidence that selects a location
model = dict(
    type='ConfidenceGuidedDistill',
    use_gt=use_gt,
    distiller=dict(
        # the three YOLOv3 level maps as head0..2 (see yolov3_d53_to_mbv2_neck.py)
        student_recorders=_base_.yolov3_head_recorders,
        teacher_recorders=_base_.yolov3_head_recorders,
        distill_losses=dict(
            **{
                f'loss_neck{i}': dict(type='ConfidenceMaskedFeatureLoss',
                                      head_type='YOLOV3Head', conf_thr=conf_thr,
                                      bg_weight=0.1, loss_weight=1.0)
                for i in range(3)
            },
            **{
                f'loss_soft{i}': dict(type='ConfidenceSoftLabelLoss',
                                      head_type='YOLOV3Head', temperature=temperature,
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
                f'loss_neck{i}': dict(
                    conf_T=dict(from_student=False, recorder=f'head{i}'))
                for i in range(3)
            },
            **{
                f'loss_{kind}{i}': dict(
                    preds_S=dict(from_student=True, recorder=f'head{i}'),
                    preds_T=dict(from_student=False, recorder=f'head{i}'))
                for kind in ('soft', 'reg') for i in range(3)
            })))
