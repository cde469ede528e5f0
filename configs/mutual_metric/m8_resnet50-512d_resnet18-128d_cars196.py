# M8 (mutual metric-learning distillation) on Cars196: teacher ResNet-50
# (512-d) and student ResNet-18 (128-d) train together, both from the ImageNet weights
# they start from when trained alone (configs/metric_embedders/resnet50-512d_cars196.py,
# resnet18-128d_cars196.py). The teacher guides the student's relational structure
# (distances and angles of the embeddings of a batch); the student's structure feeds
# back into the teacher on the anchors where the student separates the classes better.
# Data layout: configs/_base_/datasets/cars196_retrieval.py; ImageNet weights (local
# files): configs/_base_/models/resnet50-512d_resnet18-128d_embedders.py.
#   tools/dist_train.sh THIS 4
#   mim train kd_plugins THIS --launcher pytorch --gpus 4
# teacher_ckpt=None: the teacher starts from ImageNet and trains with the student;
# --teacher-ckpt T.pth starts it from a local checkpoint instead (e.g. the teacher
# trained alone). Export both networks as plain mmpretrain models and test them:
#   python tools/export_student.py CKPT --config THIS --out DIR
#   python tools/export_student.py CKPT --config THIS --out DIR --part teacher
#   mim test mmpretrain DIR/student.py --checkpoint DIR/student.pth
#   mim test mmpretrain DIR/teacher.py --checkpoint DIR/teacher.pth
# Loss weights: the toy M8 config's (configs/mutual_metric/m8_wrn-16-2-512d_resnet8-128d_
# toy-retrieval.py), set by the toy grad-balance rule, not tuned on real data: re-check
# them on the real data before a long run: `python tools/benchmark/grad_balance.py CFG
# --teacher-ckpt T --student-ckpt S [--side teacher]` (CFG: this file, T / S: teacher
# and student trained alone; --side teacher for the feedback term).
# feedback_warmup_iters: about one epoch at 4 GPUs x 64 images (~32 iterations).
_base_ = ['../_base_/datasets/cars196_retrieval.py',
          '../_base_/distill/r50-512d_to_r18-128d_metric.py',
          '../_base_/distill/m8_relational.py']
model = dict(_base_.m8_model, feedback_warmup_iters=30)
