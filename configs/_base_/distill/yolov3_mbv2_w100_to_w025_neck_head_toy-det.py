# The toy neck wiring plus both detectors' head outputs: the three YOLOv3 level maps,
# (N, 3 * (5 + 5), H, W), recorded as `head0..2` from the head's final convs (a
# detector in tensor mode calls `bbox_head.forward` directly, so a recorder on
# `bbox_head` itself would see nothing), for methods that distil head outputs.
_base_ = ['./yolov3_mbv2_w100_to_w025_neck_toy-det.py']
head_recorders = {
    f'head{i}': dict(type='ModuleOutputs', source=f'bbox_head.convs_pred.{i}')
    for i in range(3)
}
model = dict(
    distiller=dict(student_recorders=head_recorders, teacher_recorders=head_recorders))
