"""The face: CLI, evaluation on common random numbers, reports and sweeps."""
