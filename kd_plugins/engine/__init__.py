from . import atomic_io, safe_checkpoint

atomic_io.install()
safe_checkpoint.install()

__all__ = ['atomic_io', 'safe_checkpoint']
