"""`mvkl demo`: the method's effect on built-in synthetic data, end to end (library calls only).

:mod:`.pipeline` runs it; :mod:`.markdown` writes report.md.
"""

from mvkl.demo.pipeline import DEMO_ROWS, DemoOptions, run_demo

__all__ = ["DEMO_ROWS", "DemoOptions", "run_demo"]
