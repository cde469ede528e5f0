# M8 (mutual metric-learning distillation) on CUB-200-2011: the trained teacher ResNet-50
# (512-d) and the student ResNet-18 (128-d, from ImageNet weights as when trained alone:
# configs/metric_embedders/resnet18-128d_<data>.py) train together. The teacher guides
# the student's relational structure (distances and angles of the embeddings of a
# batch); the student's structure feeds back into the teacher on the anchors where the
# student separates the classes better.
# Data layout: configs/_base_/datasets/cub200_retrieval.py; ImageNet weights (local
# files): configs/_base_/models/resnet50-512d_resnet18-128d_embedders.py.
#   tools/dist_train.sh THIS 4 --teacher-ckpt T.pth
#   mim train kd_plugins THIS --launcher pytorch --gpus 4 \
#       --cfg-options model.teacher_ckpt=T.pth
# The teacher starts from its checkpoint trained alone (configs/metric_embedders/
# resnet50-512d_<data>.py), --teacher-ckpt T.pth, and is fine-tuned at a tenth of the
# learning rate (its embedding layer at 10x that, like the student's); without a
# checkpoint it starts from ImageNet, and the student's feedback can then pull it down
# (benchmarks/history/2026-11-25-m8-from-scratch/). Export both networks as plain
# mmpretrain models and test them:
#   python tools/export_student.py CKPT --config THIS --out DIR
#   python tools/export_student.py CKPT --config THIS --out DIR --part teacher
#   mim test mmpretrain DIR/student.py --checkpoint DIR/student.pth
#   mim test mmpretrain DIR/teacher.py --checkpoint DIR/teacher.pth
# Loss weights: the toy M8 config's (configs/mutual_metric/m8_wrn-16-2-512d_resnet8x0.5-128d_
# toy-retrieval.py), set by the toy grad-balance rule, not tuned on real data: re-check
# them on the real data before a long run: `python tools/benchmark/grad_balance.py CFG
# --teacher-ckpt T --student-ckpt S [--side teacher]` (CFG: this file, T / S: teacher
# and student trained alone; --side teacher for the feedback term).
# feedback_warmup_iters: about one epoch at 4 GPUs x 64 images (~23 iterations).
_base_ = ['../_base_/datasets/cub200_retrieval.py',
          '../_base_/distill/r50-512d_to_r18-128d_metric.py',
          '../_base_/distill/m8_relational.py']
optim_wrapper = dict(paramwise_cfg=dict(custom_keys=dict(
    _base_.m8_custom_keys,
    **{'teacher.head.fc': dict(lr_mult=10 * _base_.teacher_lr_mult)})))
model = dict(_base_.m8_model, feedback_warmup_iters=25)
