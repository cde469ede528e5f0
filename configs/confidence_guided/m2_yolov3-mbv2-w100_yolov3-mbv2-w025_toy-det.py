# M2 confidence-guided distillation, toy pair (YOLOv3 MobileNetV2 w1.0 -> w0.25).
# The teacher's confidence (objectness x class score) gives temperature-scaled soft
# labels for the student's head, the box targets where it is confident, and the neck
# regions to distil. use_gt=False: no distillation term reads a ground-truth box.
#   python tools/train.py THIS --teacher-ckpt work_dirs/teacher/epoch_12.pth
# Loss weights: set with tools/benchmark/grad_balance.py so that the distillation
# gradient is about 0.4-1x the student's task gradient at a trained no-KD student,
# one rule for every row of the detection benchmark (YOLOv3's summed task loss is
# ~100x a mean-reduced one, hence weights far above MMRazor's COCO defaults).
# normalize=True: the feature term compares per-channel standardised features. On the
# toy benchmark raw features gave results within the seed spread of these (first run:
# benchmarks/history/2026-11-24-raw-features/).
_base_ = ['../_base_/distill/yolov3_mbv2_w100_to_w025_neck_head_toy-det.py']
use_gt = False
temperature = 2.0  # soft-label temperature
conf_thr = 0.3  # teacher confidence that selects a location
model = dict(
    type='ConfidenceGuidedDistill',
    use_gt=use_gt,
    distiller=dict(
        distill_losses=dict(
            **{
                f'loss_neck{i}': dict(type='ConfidenceMaskedFeatureLoss',
                                      head_type='YOLOV3Head', conf_thr=conf_thr,
                                      bg_weight=0.1, loss_weight=2.0,
                                      normalize=True)
                for i in range(3)
            },
            **{
                f'loss_soft{i}': dict(type='ConfidenceSoftLabelLoss',
                                      head_type='YOLOV3Head', temperature=temperature,
                                      loss_weight=1.5)
                for i in range(3)
            },
            **{
                f'loss_reg{i}': dict(type='ConfidentRegressionLoss',
                                     head_type='YOLOV3Head', conf_thr=conf_thr,
                                     loss_weight=10.0)
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
