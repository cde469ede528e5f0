# The three YOLOv3 level maps, (N, 3 * (5 + num_classes), H, W), strides 32 / 16 / 8 like
# the neck outputs, recorded as `head0..2` from the head's final convs (a detector in
# tensor mode calls `bbox_head.forward` directly, so a recorder on `bbox_head` itself
# would see nothing). For methods that distil head outputs; the method bases
# m1_yolov3_d53_mbv2_losses.py and m2_yolov3_d53_mbv2_losses.py inherit it. No `_base_`
# and only this variable.
yolov3_head_recorders = {
    f'head{i}': dict(type='ModuleOutputs', source=f'bbox_head.convs_pred.{i}')
    for i in range(3)
}
