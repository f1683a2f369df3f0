"""allocsim: learn and benchmark inventory allocation policies."""

__version__ = "0.1.0"
