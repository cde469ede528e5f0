from .cifar_kd import CifarKDResNet, WideResNet

__all__ = ['CifarKDResNet', 'WideResNet']
