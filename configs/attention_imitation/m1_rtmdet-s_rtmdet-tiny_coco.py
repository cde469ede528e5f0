# M1 attention-guided distillation, RTMDet-s (teacher) -> RTMDet-tiny (student), COCO:
# the teacher's spatial + channel attention weight the imitation of the neck levels (1x1
# adaptation convs, the student is narrower), and the head outputs are distilled too:
# class scores as soft labels and box outputs where the teacher is confident (RTMDetHead
# layout, kd_plugins.models.losses.detection_heads). Loss weights are untuned starting
# points at COCO scale: the imitation loss sums over C x H x W (as in the Faster R-CNN
# M1 config, 1e-6), the soft-label term over every anchor and class.
#   tools/dist_train.sh THIS 8 --teacher-ckpt /path/to/rtmdet_s_8xb32-300e_coco.pth
_base_ = ['../_base_/distill/rtmdet_s_to_tiny_coco.py']
temperature = 0.5  # attention softmax temperature
conf_thr = 0.3  # teacher confidence from which box outputs are distilled
model = dict(
    distiller=dict(
        distill_losses=dict(
            **{
                f'loss_neck{i}': dict(type='AttentionGuidedImitationLoss',
                                      temperature=temperature, loss_weight=1e-6,
                                      attention_weight=0.1, normalize=True)
                for i in range(_base_.num_levels)
            },
            **{
                f'loss_cls{i}': dict(type='ConfidenceSoftLabelLoss',
                                     head_type=_base_.head_type, temperature=1.0,
                                     loss_weight=1e-3)
                for i in range(_base_.num_levels)
            },
            **{
                f'loss_reg{i}': dict(type='ConfidentRegressionLoss',
                                     head_type=_base_.head_type, conf_thr=conf_thr,
                                     loss_weight=1.0)
                for i in range(_base_.num_levels)
            }),
        loss_forward_mappings=dict(
            **{
                f'loss_cls{i}': dict(
                    preds_S=dict(from_student=True, **_base_.head_in[f'cls{i}']),
                    preds_T=dict(from_student=False, **_base_.head_in[f'cls{i}']))
                for i in range(_base_.num_levels)
            },
            **{
                f'loss_reg{i}': dict(
                    preds_S=dict(from_student=True, **_base_.head_in[f'box{i}']),
                    preds_T=dict(from_student=False, **_base_.head_in[f'box{i}']),
                    conf_T=dict(from_student=False, **_base_.head_in[f'cls{i}']))
                for i in range(_base_.num_levels)
            })))
