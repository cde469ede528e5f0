from .adaptive_distill import AdaptiveSoftLabelLoss, adaptive_weight
from .attention_imitation import (AttentionGuidedImitationLoss,
                                  attention_guided_imitation, channel_attention,
                                  spatial_attention)
from .confidence_guided import (ConfidenceMaskedFeatureLoss, ConfidenceSoftLabelLoss,
                                ConfidentRegressionLoss, binary_entropy, binary_kl,
                                boxes_to_mask,
                                confidence_masked_feature_loss,
                                confident_regression_loss, soft_label_loss)
from .data_free import (BNStatisticsLoss, ClassBalanceEntropyLoss,
                        HardSampleAdversarialLoss, LogitsDistillLoss, TeacherOneHotLoss)
from .detection_heads import (SUPPORTED_HEAD_TYPES, box_error, box_values,
                              check_detector_heads, check_head_type, confidence_map,
                              detector_head_layouts, split_yolov3)
from .hybrid_attention import (HybridAttentionLoss, channel_attention_vector,
                               hybrid_attention_loss, spatial_attention_map)
from .info_map import InfoMapDistillLoss, info_map_distill_loss, information_map
from .logit_standard import (StandardizedKLDivergence, standardize_logits,
                             standardized_kd_loss)
from .mutual_metric import (MultiSimilarityLoss, MutualRelationalLoss,
                            MutualSimilarityKLLoss, anchor_margins, angle_potentials,
                            check_positives, multi_similarity_loss,
                            neighbour_distributions, relational_angle_loss,
                            relational_distance_loss, relative_distances,
                            similarity_kl_loss, student_better_anchors)
from .multi_teacher_seg import (BoundaryAwareMultiTeacherKDLoss, boundary_pixel_weights,
                                multi_teacher_pixel_kd, teacher_quality, teacher_weights)

__all__ = [
    'AdaptiveSoftLabelLoss', 'adaptive_weight', 'binary_entropy',
    'AttentionGuidedImitationLoss', 'attention_guided_imitation', 'channel_attention',
    'spatial_attention', 'ConfidenceMaskedFeatureLoss', 'ConfidenceSoftLabelLoss',
    'ConfidentRegressionLoss', 'binary_kl', 'BNStatisticsLoss', 'ClassBalanceEntropyLoss',
    'HardSampleAdversarialLoss', 'LogitsDistillLoss', 'TeacherOneHotLoss', 'boxes_to_mask',
    'confidence_masked_feature_loss', 'confident_regression_loss', 'soft_label_loss',
    'SUPPORTED_HEAD_TYPES', 'box_error', 'box_values', 'check_detector_heads',
    'check_head_type', 'confidence_map', 'detector_head_layouts', 'split_yolov3',
    'HybridAttentionLoss', 'channel_attention_vector', 'hybrid_attention_loss',
    'spatial_attention_map', 'BoundaryAwareMultiTeacherKDLoss', 'boundary_pixel_weights',
    'multi_teacher_pixel_kd', 'teacher_quality', 'teacher_weights', 'InfoMapDistillLoss',
    'info_map_distill_loss', 'information_map', 'StandardizedKLDivergence',
    'standardize_logits', 'standardized_kd_loss', 'MultiSimilarityLoss',
    'MutualSimilarityKLLoss', 'neighbour_distributions', 'similarity_kl_loss',
    'MutualRelationalLoss', 'anchor_margins', 'angle_potentials', 'check_positives',
    'multi_similarity_loss', 'relational_angle_loss', 'relational_distance_loss',
    'relative_distances', 'student_better_anchors'
]
