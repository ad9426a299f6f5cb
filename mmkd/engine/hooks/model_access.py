"""The model a hook acts on, without its distributed wrapper."""
from mmengine.model import is_model_wrapper
from torch import nn


def bare_model(runner) -> nn.Module:
    """``runner.model``, unwrapped from DDP or any other MMEngine model wrapper."""
    model = runner.model
    return model.module if is_model_wrapper(model) else model
