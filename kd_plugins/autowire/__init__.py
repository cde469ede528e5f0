"""Probe a teacher / student pair, pair their levels and add connectors: the parts of
the distillation-config writer (issue 22)."""
from .pairing import Pair, distiller_wiring, pair_levels
from .probe import (AutowireError, Level, build_model, input_size_of, load_config, probe,
                    scope_of, task_of)

__all__ = ['AutowireError', 'Level', 'Pair', 'build_model', 'distiller_wiring',
           'input_size_of', 'load_config', 'pair_levels', 'probe', 'scope_of', 'task_of']
