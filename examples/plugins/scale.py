"""A layer of your own, used from YAML: ``nnpy train --config examples/scale.yaml --plugin
examples/plugins/scale.py`` (the README's example of the layer contract)."""
import nnpy


@nnpy.register_layer("Scale")
class Scale(nnpy.Layer):
    """y = x · s, one learnable factor per feature. Input (N, F), output (N, F)."""

    def build(self, input_shape):          # shapes without the batch axis
        self.add_param("s", input_shape, "ones")
        return input_shape                 # the output shape

    def forward(self, x, training=False):
        self.x = x                         # cache what backward needs
        return x * self.params["s"]

    def backward(self, grad_y):
        self.grads["s"][...] = (grad_y * self.x).sum(axis=0)   # same keys as self.params
        return grad_y * self.params["s"]                        # dL/dx
