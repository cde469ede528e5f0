# M4 (information-map) recorders, adaptation convs, losses and their inputs for the real
# YOLOv3 pair, Darknet-53 -> MobileNetV2, shared by
# info_map/m4_yolov3-d53_yolov3-mbv2_coco.py and m4_yolov3-d53_yolov3-mbv2_voc0712.py: the
# dataset changes neither the maps nor the losses. It sits beside a pair base
# (yolov3_d53_to_mbv2_coco.py / _voc0712.py, whose yolov3_d53_to_mbv2_neck.py wires the
# neck levels) in a `_base_` list, so it defines none of that base's keys: only the
# backbone channel facts, the method's hyperparameter and `m4_yolov3_distiller`, which the
# method config merges into `model.distiller`. The losses read `temperature` here, when
# this file is loaded: a config that changes it must restate the losses.
# Backbone outputs, strides 8 / 16 / 32 (Darknet out_indices (3, 4, 5), MobileNetV2
# out_indices (2, 4, 6)); same H x W on both sides, only the channels differ:
yolov3_d53_backbone_channels = [256, 512, 1024]
yolov3_mbv2_backbone_channels = [32, 96, 320]
temperature = 1.0
m4_yolov3_distiller = dict(
    student_recorders=dict(backbone=dict(type='ModuleOutputs', source='backbone')),
    teacher_recorders=dict(backbone=dict(type='ModuleOutputs', source='backbone')),
    connectors={
        f'bb{i}_s': dict(type='ConvModuleConnector',
                         in_channel=yolov3_mbv2_backbone_channels[i],
                         out_channel=yolov3_d53_backbone_channels[i],
                         kernel_size=1, act_cfg=None, norm_cfg=None)
        for i in range(3)
    },
    distill_losses=dict(
        **{
            f'loss_{part}{i}': dict(type='InfoMapDistillLoss',
                                    temperature=temperature, loss_weight=1.0)
            for part in ('neck', 'backbone') for i in range(3)
        }),
    loss_forward_mappings={
        f'loss_backbone{i}': dict(
            preds_S=dict(from_student=True, recorder='backbone', data_idx=i,
                         connector=f'bb{i}_s'),
            preds_T=dict(from_student=False, recorder='backbone', data_idx=i))
        for i in range(3)
    })
