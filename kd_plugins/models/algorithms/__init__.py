from .confidence_guided_distill import ConfidenceGuidedDistill
from .dual_generator_distill import DualGeneratorDataFreeDistill
from .hybrid_attention_distill import HybridAttentionDistill
from .multi_teacher_seg_distill import BoundaryAwareMultiTeacherDistill
from .mutual_metric_distill import MutualMetricDistill
from .preprocess_aware_distill import (PreprocessAwareDistill,
                                       TeacherInputsPreprocessor)
from .semi_adaptive_distill import MultiBranchPreprocessor, SemiAdaptiveDistill

__all__ = ['BoundaryAwareMultiTeacherDistill', 'ConfidenceGuidedDistill',
           'DualGeneratorDataFreeDistill', 'HybridAttentionDistill',
           'MultiBranchPreprocessor', 'MutualMetricDistill', 'PreprocessAwareDistill',
           'SemiAdaptiveDistill', 'TeacherInputsPreprocessor']
