"""Rule sets and bounds: heuristics with the stable-baselines3 predictor interface."""
