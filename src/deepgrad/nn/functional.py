"""Functional forms of the layers and losses (``deepgrad.nn.functional``, like
``torch.nn.functional``)."""
from ..ops import (binary_cross_entropy_with_logits, cross_entropy, leaky_relu, linear,
                   log_softmax, mse_loss, nll_loss, relu, sigmoid, softmax, tanh)
from ..ops import batch_norm, dropout, dropout2d

__all__ = ["binary_cross_entropy_with_logits", "cross_entropy", "leaky_relu", "linear",
           "log_softmax", "mse_loss", "nll_loss", "relu", "sigmoid", "softmax", "tanh"]
__all__ += ["batch_norm", "dropout", "dropout2d"]

from ..ops.conv import conv2d  # noqa: E402
from ..ops.locally_connected import locally_connected2d  # noqa: E402
from ..ops.pool import adaptive_avg_pool2d, avg_pool2d, max_pool2d  # noqa: E402

__all__ += ["conv2d", "locally_connected2d", "max_pool2d", "avg_pool2d",
            "adaptive_avg_pool2d"]


def one_hot(tensor, num_classes=-1):
    """Class indices as one-hot rows (int64): ``one_hot(tensor([2, 0]), 3)``."""
    from ..autograd import Tensor
    from .. import backend
    data = tensor._data if isinstance(tensor, Tensor) else backend.np.asarray(tensor)
    if data.dtype.kind not in "iu":
        raise RuntimeError(f"one_hot: expects an integer tensor of class indices, got "
                           f"dtype {data.dtype}")
    xp = backend.get_array_module(data)
    classes = int(data.max()) + 1 if num_classes == -1 else num_classes
    if data.size and (int(data.min()) < 0 or int(data.max()) >= classes):
        raise RuntimeError(f"one_hot: class values must be in [0, {classes}), got "
                           f"[{int(data.min())}, {int(data.max())}]")
    return Tensor((data[..., None] == xp.arange(classes)).astype(xp.int64))


__all__ += ["one_hot"]
