"""Training: SRL (step-wise action-similarity GRPO), SFT, RLVR and SRL→RLVR on TRL, and the tiny model."""
