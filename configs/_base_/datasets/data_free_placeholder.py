# The training "data" of data-free distillation: no images, only loop ticks
# (kd_plugins' DataFreePlaceholderDataset: blank (3, 1, 1) items with gt_label 0). A
# data-free config keeps its real dataset base for validation and replaces the train
# loader with this one:
#   train_dataloader = dict(_delete_=True, **_base_.data_free_train_dataloader)
# MMRazor's DAFL / DFAD take their generated batch size from the loader's batch_size;
# kd_plugins' DualGeneratorDataFreeDistill ignores the items (model.batch_size counts).
data_free_train_dataloader = dict(
    batch_size=1,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='DataFreePlaceholderDataset', length=10000))
