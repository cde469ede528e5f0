# CUB-200-2011 for deep metric learning (image retrieval), with kd_plugins'
# CUB200Retrieval. Get CUB_200_2011.tgz from the Caltech Vision Lab's CUB-200-2011 page
# and unpack it so that data_root holds the directory as distributed:
#   data/CUB_200_2011/
#     images.txt                 <image_id> <path under images/>
#     image_class_labels.txt     <image_id> <class_id 1..200>
#     classes.txt                <class_id> <name>            (names only, optional)
#     images/001.Black_footed_Albatross/*.jpg ...
# Class-disjoint split of the metric-learning protocol: classes 1-100 train (5,864
# images), 101-200 test (5,924 images); the official train_test_split.txt is a
# classification split and is not read. Training batches are P classes x K images
# (ClassBalancedSampler): the pair loss needs positives. Evaluation: every test image
# queries all the others, Recall@1/2/4/8 (cosine) and NMI.
_base_ = ['./retrieval_224px.py']
dataset_type = 'CUB200Retrieval'
data_root = 'data/CUB_200_2011/'
train_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root))
val_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root))
test_dataloader = val_dataloader
