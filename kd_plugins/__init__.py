"""kd_plugins: knowledge-distillation methods for MMRazor / MMDetection.

Importing the package applies the torch-2.x fixes of :mod:`kd_plugins.compat` first,
then registers every algorithm, loss, connector, dataset and metric.
"""
from . import compat

compat.apply()

from . import datasets, engine, evaluation, models  # noqa: E402,F401  (registers modules)
from .version import __version__  # noqa: E402,F401
