"""The batched engine: the world's state as one value and its period as compiled kernels."""
