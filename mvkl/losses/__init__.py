"""ViKL losses as pure functions of tensors (paper Eq. 1–8).

* :func:`nt_xent`: symmetric NT-Xent with intra-modal negatives, label smoothing, decoupled option;
* :func:`robinson_hcl`: Robinson et al. hard-negative loss in log space;
* :func:`vikl_loss`: the composite objective (IMC + ITM), :func:`manifest_dedup_rows`;
* :mod:`mvkl.losses.reference`: slow float64 loop versions used by the tests and benchmarks.
"""

from mvkl.losses.hcl import robinson_hcl
from mvkl.losses.ntxent import nt_xent
from mvkl.losses.temperature import Temperature
from mvkl.losses.vikl import INTER_TERMS, TERMS, VikLPlan, manifest_dedup_rows, vikl_loss, vikl_plan

__all__ = ["INTER_TERMS", "TERMS", "Temperature", "VikLPlan", "manifest_dedup_rows", "nt_xent", "robinson_hcl",
           "vikl_loss", "vikl_plan"]
