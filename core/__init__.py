"""Shared arithmetic in numpy only: whole-unit decode, order-up-to, observation blocks, limits.

The engine compiles these functions and the torch-free ONNX runtime runs them as they are,
so both turn the same inputs into the same units. Nothing here imports beyond numpy and the
standard library.
"""
