"""Continual image classification: the benchmarks (readers of the standard data files), the
paper's networks, one training loop for every strategy, and a classify run's results."""
