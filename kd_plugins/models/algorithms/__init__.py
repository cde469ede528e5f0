from .confidence_guided_distill import ConfidenceGuidedDistill
from .preprocess_aware_distill import (PreprocessAwareDistill,
                                       TeacherInputsPreprocessor)
from .semi_adaptive_distill import MultiBranchPreprocessor, SemiAdaptiveDistill

__all__ = ['ConfidenceGuidedDistill', 'MultiBranchPreprocessor', 'PreprocessAwareDistill',
           'SemiAdaptiveDistill', 'TeacherInputsPreprocessor']
