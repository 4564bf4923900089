"""Frontend: Hugging Face checkpoints (config, weights) in, traced decoder layers out."""
