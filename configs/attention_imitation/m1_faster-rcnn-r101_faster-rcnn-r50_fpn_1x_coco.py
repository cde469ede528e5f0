# M1 attention-guided distillation, Faster R-CNN R101-FPN 2x (teacher) -> R50-FPN 1x
# (student), COCO: the teacher's spatial + channel attention weight the imitation of the
# five FPN levels (256 channels on both sides, no adaptation layer), and the RPN outputs
# are distilled too, per level: objectness (rpn_cls) as soft labels and box deltas
# (rpn_reg) where the teacher's objectness is confident. Loss weights are untuned starting
# points at COCO scale. The imitation loss sums over C x H x W: at ~1333x800 the five FPN
# levels hold ~23M values per image (~450x the toy's neck maps) while Faster R-CNN's own
# losses are O(1) means, hence 1e-6 instead of the toy's first 1e-3. The RPN soft label
# loss sums over all anchors (~200k per image) and gets 1e-3, as in the M2 Faster R-CNN
# config; the regression term is a weighted mean (1.0, the toy's first choice).
#   tools/dist_train.sh THIS 8 --teacher-ckpt /path/to/faster-rcnn_r101_fpn_2x_coco.pth
_base_ = ['../_base_/distill/faster-rcnn_r101_to_r50_fpn_1x_coco.py']
temperature = 0.5  # attention softmax temperature
conf_thr = 0.3  # teacher objectness from which RPN box deltas are distilled
num_levels = 5
model = dict(
    distiller=dict(
        # rpn_cls / rpn_reg run once per FPN level: record_idx i is level i
        student_recorders=dict(
            rpn_cls=dict(type='ModuleOutputs', source='rpn_head.rpn_cls'),
            rpn_reg=dict(type='ModuleOutputs', source='rpn_head.rpn_reg')),
        teacher_recorders=dict(
            rpn_cls=dict(type='ModuleOutputs', source='rpn_head.rpn_cls'),
            rpn_reg=dict(type='ModuleOutputs', source='rpn_head.rpn_reg')),
        distill_losses=dict(
            **{
                f'loss_fpn{i}': dict(type='AttentionGuidedImitationLoss',
                                     temperature=temperature, loss_weight=1e-6,
                                     attention_weight=0.1)
                for i in range(num_levels)
            },
            **{
                f'loss_rpn_cls{i}': dict(type='ConfidenceSoftLabelLoss',
                                         head_type='RPNHead', temperature=1.0,
                                         loss_weight=1e-3)
                for i in range(num_levels)
            },
            **{
                f'loss_rpn_reg{i}': dict(type='ConfidentRegressionLoss',
                                         head_type='RPNHead', conf_thr=conf_thr,
                                         loss_weight=1.0)
                for i in range(num_levels)
            }),
        loss_forward_mappings=dict(
            **{
                f'loss_rpn_cls{i}': dict(
                    preds_S=dict(from_student=True, recorder='rpn_cls', record_idx=i),
                    preds_T=dict(from_student=False, recorder='rpn_cls', record_idx=i))
                for i in range(num_levels)
            },
            **{
                f'loss_rpn_reg{i}': dict(
                    preds_S=dict(from_student=True, recorder='rpn_reg', record_idx=i),
                    preds_T=dict(from_student=False, recorder='rpn_reg', record_idx=i),
                    conf_T=dict(from_student=False, recorder='rpn_cls', record_idx=i))
                for i in range(num_levels)
            })))
