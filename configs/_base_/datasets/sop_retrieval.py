# Stanford Online Products (SOP) for deep metric learning (image retrieval), with
# kd_plugins' SOPRetrieval. Get Stanford_Online_Products.zip (the dataset of Song et al.,
# "Deep Metric Learning via Lifted Structured Feature Embedding", CVPR 2016, from its
# Stanford project page) and unpack it so that data_root holds:
#   data/Stanford_Online_Products/
#     Ebay_train.txt    header `image_id class_id super_class_id path`, then one line
#     Ebay_test.txt     per image, path relative to data_root
#     bicycle_final/ cabinet_final/ chair_final/ ... toaster_final/   (12 super classes)
# Class-disjoint split given by the two lists: 11,318 classes / 59,551 images train,
# 11,316 classes / 60,502 images test. Products have 2-12 images each, so a K=4 group
# of a small class repeats images (ClassBalancedSampler fills it up). Evaluation: every
# test image queries all the others, Recall@1/10/100/1000 (cosine; the standard SOP
# report).
_base_ = ['./retrieval_224px.py']
dataset_type = 'SOPRetrieval'
data_root = 'data/Stanford_Online_Products/'
train_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root))
val_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root))
test_dataloader = val_dataloader
# nmi=False: NMI k-means over the 60,502 test embeddings into 11,316 clusters takes far
# longer than the recalls at every evaluation (not yet timed at this size with faiss,
# the default backend); set nmi=True to compute it, e.g. once with tools/test.py at the
# end.
val_evaluator = dict(type='EmbeddingRecallNMI', topk=(1, 10, 100, 1000),
                     distance='cosine', nmi=False, nmi_backend='faiss')
test_evaluator = val_evaluator
