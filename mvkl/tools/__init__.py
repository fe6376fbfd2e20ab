"""Developer tools that read the package itself (no torch, no data): :mod:`mvkl.tools.layers`."""
