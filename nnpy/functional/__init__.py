"""The numerical core: each operation's forward and backward, written once, on plain arrays.

Layers (``nnpy.nn``), losses, metrics and the autograd Functions (``nnpy.autograd``) call these
functions instead of writing the math again. They use only operators and array methods
(``+ - * /``, ``.sum``, ``.max``, ``.mean``) and ``exp``/``log`` from ``nnpy.functional.math``,
so the same function runs on numpy arrays and on autograd Tensors, where every step is recorded
(that is how an autograd backward stays differentiable a second time).

Modules: ``activations`` (ReLU, leaky ReLU, ELU, sigmoid, tanh), ``dense`` (x @ W + b), ``conv`` (1-D, 2-D and transposed 2-D convolution), ``normalization`` (batch norm), ``pooling`` (max, average, global average and max; 1-D and 2-D), ``upsampling`` (nearest, bilinear), ``dropout``, ``embedding``, ``attention`` (scaled dot-product attention over heads), ``recurrent`` (RNN, LSTM and GRU through time), ``windows`` (window sizes and padding), ``softmax`` (softmax, log-softmax), ``merge`` (concatenate, add, multiply), ``losses`` (cross-entropy, MSE, MAE, Huber,
binary cross-entropy), ``math`` (exp and log for either kind of argument).
Imports only ``nnpy.backend``.
"""
from .activations import (elu, elu_backward, leaky_relu, leaky_relu_backward, relu, relu_backward, sigmoid,
                          sigmoid_backward, tanh, tanh_backward)
from .conv import (col2im, conv1d, conv1d_backward, conv2d, conv2d_backward, conv_transpose2d,
                   conv_transpose2d_backward, im2col)
from .dense import dense, dense_backward, rows_matmul
from .activations import erf, gelu, gelu_backward
from .normalization import layer_norm, layer_norm_backward
from .attention import attention, attention_backward, causal_mask, merge_heads, split_heads
from .normalization import (batch_norm, batch_norm_backward, batch_norm_evaluate, batch_norm_evaluate_backward,
                            channel_dots, channel_rows, channel_sums, fold_batch_norm)
from .pooling import (avg_pool2d, avg_pool2d_backward, global_avg_pool2d, global_avg_pool2d_backward, max_pool2d,
                      max_pool2d_backward, max_pool2d_winners)
from .pooling import (avg_pool1d, avg_pool1d_backward, global_avg_pool1d, global_avg_pool1d_backward,
                      global_max_pool2d, global_max_pool2d_backward, max_pool1d, max_pool1d_backward)
from .upsampling import interpolation_matrix, upsample2d, upsample2d_backward
from .dropout import dropout_mask
from .embedding import embedding, embedding_backward
from .recurrent import (gru_backward, gru_forward, lstm_backward, lstm_forward, rnn_backward, rnn_forward)
from .losses import (binary_cross_entropy, binary_cross_entropy_backward, cross_entropy, cross_entropy_backward,
                     huber, huber_backward, mae, mae_backward, mse, mse_backward, one_hot)
from .softmax import log_softmax, log_softmax_backward, softmax, softmax_backward
from .merge import add, add_backward, concatenate, concatenate_backward, multiply, multiply_backward

__all__ = ["relu", "relu_backward", "leaky_relu", "leaky_relu_backward", "elu", "elu_backward",
           "sigmoid", "sigmoid_backward", "tanh", "tanh_backward", "conv2d", "conv2d_backward", "im2col", "col2im",
           "dense", "dense_backward", "rows_matmul", "channel_rows", "channel_sums", "channel_dots", "batch_norm", "batch_norm_backward", "batch_norm_evaluate",
           "batch_norm_evaluate_backward", "max_pool2d", "max_pool2d_backward", "max_pool2d_winners", "avg_pool2d", "avg_pool2d_backward",
           "global_avg_pool2d", "global_avg_pool2d_backward", "dropout_mask", "embedding", "embedding_backward",
           "rnn_forward", "rnn_backward", "lstm_forward", "lstm_backward", "gru_forward", "gru_backward",
           "softmax", "softmax_backward", "log_softmax", "log_softmax_backward",
           "cross_entropy", "cross_entropy_backward", "mse", "mse_backward", "mae", "mae_backward",
           "huber", "huber_backward", "binary_cross_entropy", "binary_cross_entropy_backward", "one_hot",
           "concatenate", "concatenate_backward", "add", "add_backward", "multiply", "multiply_backward",
           "conv1d", "conv1d_backward", "conv_transpose2d", "conv_transpose2d_backward",
           "max_pool1d", "max_pool1d_backward", "avg_pool1d", "avg_pool1d_backward",
           "global_avg_pool1d", "global_avg_pool1d_backward", "global_max_pool2d", "global_max_pool2d_backward",
           "interpolation_matrix", "upsample2d", "upsample2d_backward",
           "erf", "gelu", "gelu_backward", "layer_norm", "layer_norm_backward",
           "attention", "attention_backward", "causal_mask", "split_heads", "merge_heads", "fold_batch_norm"]
