# One-way relational KD (Park et al., CVPR 2019, MMRazor's DistanceWiseRKD +
# AngleWiseRKD) on the toy retrieval pair: a trained, frozen WRN-16-2 teacher (512-d)
# guides a resnet8 student (128-d); the `mmrazor:rkd` row of the M8 benchmark.
#   tools/train.py THIS --teacher-ckpt work_dirs/<teacher run>/epoch_60.pth
# Weight by the project's one rule (tools/benchmark/grad_balance.py): 0.82x of the
# student's task gradient at the trained no-KD student (distance 0.34x, angle 0.47x).
_base_ = ['../_base_/distill/toy_retrieval_wrn-16-2_to_resnet8.py',
          '../_base_/distill/rkd_embedding.py']
model = _base_.rkd_model
