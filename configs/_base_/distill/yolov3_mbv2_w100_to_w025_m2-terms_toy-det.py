# M2's confidence-guided terms on the toy pair (YOLOv3 MobileNetV2 w1.0 -> w0.25), on the
# student's own head and neck: temperature-scaled soft labels, box regression where the
# teacher is confident, and neck features masked by the teacher's confidence. No term
# reads a ground-truth box (use_gt=False). The M2 toy config adds its cross-head terms
# to these; M3 (semi-supervised) weights the soft labels adaptively.
# Loss weights: set with tools/benchmark/grad_balance.py (see the M2 config).
_base_ = ['./yolov3_mbv2_w100_to_w025_neck_head_toy-det.py']
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
