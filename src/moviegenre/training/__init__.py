"""Training: the command that fits a model type, tunes thresholds and writes a bundle."""
