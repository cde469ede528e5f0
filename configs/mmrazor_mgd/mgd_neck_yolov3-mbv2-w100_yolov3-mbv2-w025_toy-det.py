# MMRazor's MGD (masked generative distillation, Yang et al. ECCV 2022) on the three YOLOv3
# neck outputs of the toy pair: on the student side MGDConnector aligns the channels
# (1x1 conv, 24 -> 96), masks random positions (lambda_mgd of them) and regenerates the
# teacher's feature with two 3x3 convs; MGDLoss is the squared error to the teacher's
# neck output, summed over channels and positions, per image. A comparison row of the
# detection benchmark, wired as the CWD / PKD rows (configs/mmrazor_cwd|pkd/).
#   python tools/train.py THIS --teacher-ckpt work_dirs/teacher/epoch_12.pth
# Unlike MMRazor's RetinaNet config, the student's neck and head do not start from the
# teacher's weights (the widths differ); every row of the benchmark starts alike.
# Loss weights: MMRazor's published default (protocol v2, rule 3: a baseline row starts
# from it, the benchmark sweeps x0.25, x1, x4 of it).
_base_ = ['../_base_/distill/yolov3_mbv2_w100_to_w025_neck_toy-det.py']
model = dict(distiller=dict(
    connectors=dict(
        _delete_=True,
        **{
            f'neck{i}_s': dict(
                type='MGDConnector',
                student_channels=_base_.student_channels,
                teacher_channels=_base_.teacher_channels,
                lambda_mgd=0.65)  # published mask ratio (the same MMRazor config)
            for i in range(3)
        }),
    distill_losses={
        # published default: 2e-5 (MMRazor's config, also MGDLoss's default:
        # mmrazor::distill/mmdet/mgd/mgd_fpn_retina_x101_retina_r50_2x_coco.py).
        # The weight is alpha_mgd: MGDLoss has no loss_weight.
        # Set there for RetinaNet FPN levels (256 channels at up to 1/8 of ~1333x800 px),
        # the error summed over channels x positions; here 96 channels at 20x20, 10x10,
        # 5x5, so the sum is far smaller, next to a YOLOv3 task loss summed over
        # positions: kept as published, as protocol v2 asks.
        f'loss_neck{i}': dict(type='MGDLoss', alpha_mgd=2e-5)
        for i in range(3)
    }))
# the loss weights the benchmark's sweep scales together (full dotted config paths):
# MGD's weight is alpha_mgd
sweep_weights = [f'model.distiller.distill_losses.loss_neck{i}.alpha_mgd'
                 for i in range(3)]
