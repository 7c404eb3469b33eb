"""Evaluation shared by the demo, the e2e study and training: the bundled image sets and their crops
(images), split-model agreement and bits on a split (evaluate), agreement vs bytes against WebP/JPEG (compare)."""
