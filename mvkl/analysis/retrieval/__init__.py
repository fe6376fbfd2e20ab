"""Retrieval: metrics (recall@k, paper Fig. 4 / Table 8) and the embed-and-rank run behind `mvkl retrieve`."""
