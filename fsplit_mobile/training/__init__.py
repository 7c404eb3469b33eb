"""Training of the bundled default model (head distillation) and its held-out evaluation."""
