"""notrain: say no to AI training, and make that no hold all the way into the training data."""

__version__ = "0.1.0"
