"""lvc model training (PyTorch): networks, data, training, evaluation."""
