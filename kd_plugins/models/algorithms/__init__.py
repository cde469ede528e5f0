from .preprocess_aware_distill import (PreprocessAwareDistill,
                                       TeacherInputsPreprocessor)

__all__ = ['PreprocessAwareDistill', 'TeacherInputsPreprocessor']
