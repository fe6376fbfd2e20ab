"""`mvkl demo`: the whole method on built-in synthetic data.

:mod:`.pipeline` runs it; :mod:`.markdown` writes report.md.
"""

from mvkl.demo.pipeline import DemoOptions, run_demo

__all__ = ["DemoOptions", "run_demo"]
