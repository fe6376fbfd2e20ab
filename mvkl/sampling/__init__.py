"""ManiNeg hard-negative batch sampling (paper Sec. 4.2, Eq. 7) and random batches."""
