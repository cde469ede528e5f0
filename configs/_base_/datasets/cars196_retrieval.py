# Stanford Cars (Cars196) for deep metric learning (image retrieval), with kd_plugins'
# Cars196Retrieval. Get the "all images" release of Stanford Cars (car_ims.tgz, 16,185
# images, and its annotation file cars_annos.mat; e.g. from the original Stanford
# dataset page or one of its mirrors) and put both in data_root:
#   data/cars196/
#     cars_annos.mat     struct array `annotations` (relative_im_path, class, test,
#                        bbox_*) and `class_names`; needs scipy to read
#     car_ims/000001.jpg ... car_ims/016185.jpg
# The devkit's cars_train_annos.mat / cars_test_annos.mat (classification split) are not
# what is read. Class-disjoint split of the metric-learning protocol: classes 1-98 train
# (8,054 images), 99-196 test (8,131 images); the file's own `test` flag is ignored.
# Training batches are P classes x K images (ClassBalancedSampler): the pair loss needs
# positives. Evaluation: every test image queries all the others, Recall@1/2/4/8
# (cosine) and NMI.
_base_ = ['./retrieval_224px.py']
dataset_type = 'Cars196Retrieval'
data_root = 'data/cars196/'
train_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root))
val_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root))
test_dataloader = val_dataloader
