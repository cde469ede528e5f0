# One-way relational KD (Park et al., CVPR 2019; MMRazor's DistanceWiseRKD + AngleWiseRKD
# on head.fc) on CUB-200-2011:
# a trained, frozen ResNet-50 teacher (512-d) guides a ResNet-18 student (128-d,
# ImageNet init); the `mmrazor:rkd` row of the M8 benchmark.
# teacher_ckpt: a local checkpoint of the teacher trained alone with
# configs/metric_embedders/resnet50-512d_cub200.py (None here: without it the frozen
# teacher keeps its ImageNet init, which is only good for tests).
#   tools/dist_train.sh THIS 4 --teacher-ckpt work_dirs/<teacher run>/epoch_N.pth
#   mim train kd_plugins THIS --launcher pytorch --gpus 4 \
#       --cfg-options model.teacher_ckpt=work_dirs/<teacher run>/epoch_N.pth
#   python tools/export_student.py CKPT --config THIS --out DIR
#   mim test mmpretrain DIR/student.py --checkpoint DIR/student.pth
# Loss weights: the toy RKD config's (grad-balance rule on the toy data), not tuned
# on real data: re-check with `python tools/benchmark/grad_balance.py CFG --teacher-ckpt
# T --student-ckpt S` before a long run.
_base_ = ['../_base_/datasets/cub200_retrieval.py',
          '../_base_/distill/r50-512d_to_r18-128d_metric.py',
          '../_base_/distill/rkd_embedding.py']
model = _base_.rkd_model
