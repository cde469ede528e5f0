# M3 on COCO with 1% of train2017 labeled (fold 1): the 10% config with other split
# files (make them with tools/make_toy_data.py det-semi ... --percent 1 --seed 1).
_base_ = ['./m3_yolov3-d53_yolov3-mbv2_coco-semi10.py']
fold, percent = 1, 1
train_dataloader = dict(dataset=dict(datasets=[
    dict(_base_.labeled_dataset,
         ann_file=f'annotations/instances_train2017.{fold}@{percent}.json'),
    dict(_base_.unlabeled_dataset,
         ann_file=f'annotations/instances_train2017.{fold}@{percent}-unlabeled.json')
]))
