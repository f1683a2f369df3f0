"""Learning: stable-baselines3 algorithms, training, export and the torch-free runtime."""
