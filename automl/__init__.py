"""automl: AutoML that treats the choice of algorithm as one more hyperparameter."""

from automl.space import Categorical, Choice, Component, Constant, Float, Int, Space

__version__ = "0.1.0"

__all__ = [
    "Categorical",
    "Choice",
    "Component",
    "Constant",
    "Float",
    "Int",
    "Space",
    "__version__",
]
