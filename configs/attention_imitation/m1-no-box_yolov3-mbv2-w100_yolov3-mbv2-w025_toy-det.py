# Ablation `M1-no_box` (issue 18) of the toy M1 config: M1 without its box-regression
# terms (neither on the student's head nor on the cross-head outputs); the attention-
# guided imitation and the soft labels stay as they are. The research claim it tests:
# distilling the regression outputs, which classification-style distillation cannot,
# adds to the rest (../shared/research/ 000).
#   python tools/benchmark/run.py det --rows M1-no_box
_base_ = ['./m1_yolov3-mbv2-w100_yolov3-mbv2-w025_toy-det.py']
model = dict(
    distiller=dict(
        distill_losses=dict(
            _delete_=True,
            **{
                f'loss_neck{i}': dict(type='AttentionGuidedImitationLoss',
                                      temperature=0.5,  # M1's
                                      loss_weight=4 * 1.5e-3,  # M1's
                                      attention_weight=0.1,
                                      normalize=True)
                for i in range(3)
            },
            **{
                f'loss_{kind}{i}': dict(type='ConfidenceSoftLabelLoss',
                                        head_type='YOLOV3Head', temperature=1.0,
                                        loss_weight=4 * 3.0)  # M1's
                for kind in ('cls', 'xcls') for i in range(3)
            }),
        loss_forward_mappings=dict(
            _delete_=True,
            **{
                f'loss_neck{i}': dict(
                    preds_S=dict(from_student=True, recorder='neck', data_idx=i,
                                 connector=f'neck{i}_s'),
                    preds_T=dict(from_student=False, recorder='neck', data_idx=i))
                for i in range(3)
            },
            **{
                f'loss_cls{i}': dict(
                    preds_S=dict(from_student=True, recorder=f'head{i}'),
                    preds_T=dict(from_student=False, recorder=f'head{i}'))
                for i in range(3)
            },
            **{
                f'loss_xcls{i}': dict(
                    preds_S=dict(from_student=True, recorder='neck', data_idx=i,
                                 connector=f'xhead{i}'),
                    preds_T=dict(from_student=False, recorder=f'head{i}'))
                for i in range(3)
            })))
