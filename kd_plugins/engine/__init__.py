from . import atomic_io

atomic_io.install()

__all__ = ['atomic_io']
