from .confidence_guided_distill import ConfidenceGuidedDistill
from .dual_generator_distill import DualGeneratorDataFreeDistill
from .hybrid_attention_distill import HybridAttentionDistill
from .preprocess_aware_distill import (PreprocessAwareDistill,
                                       TeacherInputsPreprocessor)
from .semi_adaptive_distill import MultiBranchPreprocessor, SemiAdaptiveDistill

__all__ = ['ConfidenceGuidedDistill', 'DualGeneratorDataFreeDistill', 'HybridAttentionDistill',
           'MultiBranchPreprocessor', 'PreprocessAwareDistill', 'SemiAdaptiveDistill',
           'TeacherInputsPreprocessor']
