# Ablation `M3-no_adaptive` (issue 18) of the toy M3 config: the same labeled +
# unlabeled batches and M2's confidence-guided terms on both, but M2's plain soft labels
# (temperature 2, M2's weight) instead of M3's adaptive per-location weighting. The
# research claim it tests: weighting the locations the student finds hard to imitate and
# the teacher finds hard to learn adds to using unlabeled data (../shared/research/ 001).
#   python tools/benchmark/run.py semi --rows M3-no_adaptive
_base_ = ['./m3_yolov3-mbv2-w100_yolov3-mbv2-w025_toy-det-semi10.py']
model = dict(
    distiller=dict(distill_losses={
        f'loss_soft{i}': dict(_delete_=True, type='ConfidenceSoftLabelLoss',
                              head_type='YOLOV3Head', temperature={{_base_.temperature}},
                              loss_weight=1.5)
        for i in range(3)
    }))
