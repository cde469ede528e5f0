# M2 (confidence-guided) recorders, losses and their inputs for the real YOLOv3 pair,
# Darknet-53 -> MobileNetV2, shared by confidence_guided/m2_yolov3-d53_yolov3-mbv2_coco.py
# and m2_yolov3-d53_yolov3-mbv2_voc0712.py: the dataset changes neither the maps nor the
# losses. It sits beside a pair base (yolov3_d53_to_mbv2_coco.py / _voc0712.py) in a
# `_base_` list, so it defines none of that base's keys: only the method's hyperparameters
# and `m2_yolov3_distiller`, which the method config merges into `model.distiller`. The
# losses read `temperature` / `conf_thr` here, when this file is loaded: a config that
# changes them must restate the losses.
_base_ = ['./yolov3_head_recorders.py']
# cross-head terms (issue 18): the student's neck levels (96 channels), adapted to the
# teacher's widths, through the teacher's head (TeacherHeadConnector); the same soft-label
# and confident-regression terms as on the student's own head
cross_in_channels = 96
cross_out_channels = [512, 256, 128]
temperature = 2.0  # soft-label temperature
conf_thr = 0.3  # teacher confidence that selects a location
m2_yolov3_distiller = dict(
    # the three YOLOv3 level maps as head0..2, besides the pair base's neck recorders
    student_recorders=_base_.yolov3_head_recorders,
    teacher_recorders=_base_.yolov3_head_recorders,
    connectors={
        f'xhead{i}': dict(type='TeacherHeadConnector', head_type='YOLOV3Head', level=i,
                          in_channel=cross_in_channels,
                          out_channel=cross_out_channels[i])
        for i in range(3)
    },
    distill_losses=dict(
        **{
            f'loss_xcls{i}': dict(type='ConfidenceSoftLabelLoss',
                                  head_type='YOLOV3Head', temperature=temperature,
                                  loss_weight=1.0)
            for i in range(3)
        },
        **{
            f'loss_xreg{i}': dict(type='ConfidentRegressionLoss',
                                  head_type='YOLOV3Head', conf_thr=conf_thr,
                                  loss_weight=1.0)
            for i in range(3)
        },
        **{
            f'loss_neck{i}': dict(type='ConfidenceMaskedFeatureLoss',
                                  head_type='YOLOV3Head', conf_thr=conf_thr,
                                  bg_weight=0.1, loss_weight=1.0)
            for i in range(3)
        },
        **{
            f'loss_soft{i}': dict(type='ConfidenceSoftLabelLoss',
                                  head_type='YOLOV3Head', temperature=temperature,
                                  loss_weight=1.0)
            for i in range(3)
        },
        **{
            f'loss_reg{i}': dict(type='ConfidentRegressionLoss',
                                 head_type='YOLOV3Head', conf_thr=conf_thr,
                                 loss_weight=1.0)
            for i in range(3)
        }),
    loss_forward_mappings=dict(
        **{
            f'loss_x{kind}{i}': dict(
                preds_S=dict(from_student=True, recorder='neck', data_idx=i,
                             connector=f'xhead{i}'),
                preds_T=dict(from_student=False, recorder=f'head{i}'))
            for kind in ('cls', 'reg') for i in range(3)
        },
        **{
            f'loss_neck{i}': dict(
                conf_T=dict(from_student=False, recorder=f'head{i}'))
            for i in range(3)
        },
        **{
            f'loss_{kind}{i}': dict(
                preds_S=dict(from_student=True, recorder=f'head{i}'),
                preds_T=dict(from_student=False, recorder=f'head{i}'))
            for kind in ('soft', 'reg') for i in range(3)
        }))
