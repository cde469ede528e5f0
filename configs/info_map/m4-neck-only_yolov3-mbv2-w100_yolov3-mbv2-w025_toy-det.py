# Ablation `M4-neck_only` (issue 18) of the toy M4 config: the same information-map
# loss on the three neck outputs only, without the backbone (feature extraction) terms.
# The research claim it tests: distilling the feature extraction layer as well as the
# fusion layer transfers more than the fusion layer alone (../shared/research/ 002).
#   python tools/benchmark/run.py det --rows M4-neck_only
_base_ = ['../_base_/distill/yolov3_mbv2_w100_to_w025_neck_toy-det.py']
temperature = 1.0
loss_weight = 6.0  # M4's neck start (its loss takes 4x, as M4's)
model = dict(
    distiller=dict(
        distill_losses={
            f'loss_neck{i}': dict(type='InfoMapDistillLoss', temperature=temperature,
                                  loss_weight=4 * loss_weight, normalize=True)
            for i in range(3)
        }))
