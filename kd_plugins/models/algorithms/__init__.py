from .confidence_guided_distill import ConfidenceGuidedDistill
from .preprocess_aware_distill import (PreprocessAwareDistill,
                                       TeacherInputsPreprocessor)

__all__ = ['ConfidenceGuidedDistill', 'PreprocessAwareDistill',
           'TeacherInputsPreprocessor']
