# Runtime settings every kd_plugins config adds on top of its codebase's default runtime.
custom_imports = dict(imports=['kd_plugins'], allow_failed_imports=False)
# MMDistributedDataParallel that also works on CPU (gloo): drops device_ids there.
model_wrapper_cfg = dict(
    type='CPUAwareDistributedDataParallel',
    broadcast_buffers=False,
    find_unused_parameters=True)
