# M6 on DRIVE retinal vessels (2 classes; mmseg's data pipeline with 64x64 crops,
# 40k iterations at 4 GPUs x 4 images). Teachers: mmseg's three UNet-S5-D16 models of
# this dataset, each built from its own mmseg config (one network, three decode heads):
#   fcn        mmseg::unet/unet-s5-d16_fcn_4xb4-40k_drive-64x64.py
#   deeplabv3  mmseg::unet/unet-s5-d16_deeplabv3_4xb4-40k_drive-64x64.py
#   pspnet     mmseg::unet/unet-s5-d16_pspnet_4xb4-40k_drive-64x64.py
# Student: UNet-S5 at base width 16 + FCN head (configs/_base_/distill/
# m6_unet-s5-c16_40k.py). Teacher checkpoints are local files: mmseg's model-zoo weights
# of exactly these configs, fetched beforehand (`mim download mmsegmentation --config
# unet-s5-d16_fcn_4xb4-40k_drive-64x64 --dest checkpoints/`, likewise the
# other two) or your own runs of them:
#   tools/dist_train.sh THIS 4 --cfg-options model.teachers.fcn.ckpt_path=FCN.pth \
#     model.teachers.deeplabv3.ckpt_path=DLV3.pth model.teachers.pspnet.ckpt_path=PSP.pth
#   mim train kd_plugins THIS --launcher pytorch --gpus 4 --cfg-options (the same three)
# band_width=2 (toy: 3): thin vessels are 1-3 px wide, so any band covers them whole; 2 px
# weights up the vessel edges without a 3-px ring of background along every vessel, and
# equals the BoundaryFScore tolerance. The other loss weights are the toy M6 config's, not
# tuned on real data: re-check them with tools/benchmark/grad_balance.py (how: configs/
# _base_/distill/m6_seg.py) before a long run.
_base_ = ['mmseg::_base_/datasets/drive.py', '../_base_/distill/m6_unet-s5-c16_40k.py']
crop_size = (64, 64)
data_preprocessor = dict(size=crop_size)  # the runner's and the student's
model = dict(
    distill_loss=dict(band_width=2),
    architecture=dict(data_preprocessor=data_preprocessor,
                      test_cfg=dict(crop_size=crop_size, stride=(42, 42))),
    teachers=dict(
        fcn=dict(model=dict(cfg_path=(
            'mmseg::unet/unet-s5-d16_fcn_4xb4-40k_drive-64x64.py'))),
        deeplabv3=dict(model=dict(cfg_path=(
            'mmseg::unet/unet-s5-d16_deeplabv3_4xb4-40k_drive-64x64.py'))),
        pspnet=dict(model=dict(cfg_path=(
            'mmseg::unet/unet-s5-d16_pspnet_4xb4-40k_drive-64x64.py')))))
val_evaluator = _base_.seg_boundary_evaluator
test_evaluator = val_evaluator
