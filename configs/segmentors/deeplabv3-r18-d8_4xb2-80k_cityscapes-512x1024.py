# DeepLabV3-R18-D8 on Cityscapes (512 x 1024 crops): the student of the Cityscapes
# distillation configs (M6, equal-weight multi-teacher, MMRazor CWD) trained alone, the
# no-KD row of their tables and of the GPU cost table (tools/gpu/cost.py).
_base_ = ['../_base_/distill/cityscapes_r101-d8_to_deeplabv3-r18-d8.py']
model = _base_.deeplabv3_r18_d8
