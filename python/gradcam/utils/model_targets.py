"""Targets, as pytorch_grad_cam.utils.model_targets names them.

pytorch-grad-cam's targets are callables on a torch output; here each one
describes the score to the C library instead (gcam_explain_opts): a class
index, its softmax probability, or a weight array (score = sum(w * y)).
"""
import numpy as np


class ClassifierOutputTarget:
    """The logit of class `category`."""

    def __init__(self, category):
        self.category = int(category)

    def _apply(self, opts, output_shape):
        opts.target_class = self.category


class ClassifierOutputSoftmaxTarget:
    """The softmax probability of class `category`."""

    def __init__(self, category):
        self.category = int(category)

    def _apply(self, opts, output_shape):
        opts.target_class = self.category
        opts.target_softmax = 1


class ClassifierOutputReST:
    """Not available: pytorch-grad-cam's ReST target needs a loss over the output."""

    def __init__(self, category):
        raise NotImplementedError("ClassifierOutputReST is not supported by gradcam")


class SemanticSegmentationTarget:
    """sum(mask * output[category]) over a C x H x W segmentation output,
    the mask being H x W (numpy or torch), as pytorch-grad-cam defines it."""

    def __init__(self, category, mask):
        self.category = int(category)
        if hasattr(mask, "detach"):
            mask = mask.detach().cpu().numpy()
        self.mask = np.asarray(mask, dtype=np.float32)

    def weights(self, output_shape):
        """The weight array over one item of the output (output_shape without the batch)."""
        shape = tuple(output_shape)
        if len(shape) != 3 or shape[1:] != self.mask.shape:
            raise ValueError("SemanticSegmentationTarget: the mask is %s but one output item is %s "
                             "(C x H x W expected)" % (self.mask.shape, shape))
        if not 0 <= self.category < shape[0]:
            raise ValueError("SemanticSegmentationTarget: category %d is out of range (%d classes)"
                             % (self.category, shape[0]))
        w = np.zeros(shape, dtype=np.float32)
        w[self.category] = self.mask
        return np.ascontiguousarray(w.reshape(-1))

    def _apply(self, opts, output_shape):
        raise AssertionError("weights() is used for this target")


class WeightedOutputTarget:
    """Any fixed weighting of one output item: score = sum(weights * output)."""

    def __init__(self, weights):
        self.w = np.ascontiguousarray(np.asarray(weights, dtype=np.float32).reshape(-1))

    def weights(self, output_shape):
        return self.w
