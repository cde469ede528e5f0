# Channel facts and neck wiring of the real YOLOv3 pair, teacher Darknet-53 -> student
# MobileNetV2 (mmdet's yolov3_d53_8xb8-ms-608-273e and
# yolov3_mobilenetv2_8xb24-ms-416-300e), shared by yolov3_d53_to_mbv2_coco.py and
# yolov3_d53_to_mbv2_voc0712.py. No `_base_` and only these prefixed variables, so it
# can sit beside a detector config in a `_base_` list. Head recorders are in
# yolov3_head_recorders.py, backbone channels in m4_yolov3_d53_mbv2_losses.py (the methods
# that use them).
# Both backbones and necks work at strides 8/16/32 with pad_size_divisor=32, so student
# and teacher levels have the same H x W; only the channels differ.
# Neck outputs, strides 32 / 16 / 8 (YOLOV3Neck, deepest first):
yolov3_d53_neck_channels = [512, 256, 128]
yolov3_mbv2_neck_channels = [96, 96, 96]
# The three neck outputs recorded on both sides as `neck`, a 1x1 adaptation conv per level
# on the student side (96 -> 512 / 256 / 128), one loss per level named loss_neck0..2
# (a method config fills in `distill_losses`).
yolov3_d53_to_mbv2_distiller = dict(
    type='ConfigurableDistiller',
    student_recorders=dict(neck=dict(type='ModuleOutputs', source='neck')),
    teacher_recorders=dict(neck=dict(type='ModuleOutputs', source='neck')),
    connectors={
        f'neck{i}_s': dict(
            type='ConvModuleConnector',
            in_channel=yolov3_mbv2_neck_channels[i],
            out_channel=yolov3_d53_neck_channels[i],
            kernel_size=1,
            act_cfg=None,
            norm_cfg=None)
        for i in range(3)
    },
    distill_losses={f'loss_neck{i}': dict() for i in range(3)},
    loss_forward_mappings={
        f'loss_neck{i}': dict(
            preds_S=dict(from_student=True, recorder='neck', data_idx=i,
                         connector=f'neck{i}_s'),
            preds_T=dict(from_student=False, recorder='neck', data_idx=i))
        for i in range(3)
    })
