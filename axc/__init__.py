"""axc: an open, MLIR-style compiler from Hugging Face LLMs to (an open model of) AX NPUs."""

__version__ = "0.1.0"
