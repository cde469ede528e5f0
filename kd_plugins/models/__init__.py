from . import (algorithms, backbones, connectors, generators,  # noqa: F401  (registers)
               losses)
