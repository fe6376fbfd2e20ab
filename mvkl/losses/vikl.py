"""The ViKL objective (paper Eq. 8) and the manifestation de-dup.

    L = L_IMC + (L_IT + L_IM + L_TM) / n_inter

* L_IMC = ``ii``: NT-Xent(view1, view2; τ1), label smoothing ``ls_other`` (0).
* ``it``: NT-Xent(image, text; τ2) with label smoothing ``ls_text`` = 0.2 (Eq. 8 "ls"; the paper
  never states α, the code uses 0.2).
* ``im``: NT-Xent(image, manifestation; τ1), ``ls_other``.
* ``tm``: NT-Xent(text, manifestation; τ2), ``ls_text``.
* n_inter = number of enabled inter-modal terms (3 = Eq. 4's 1/3 for the full model; fewer when
  the store has no reports and the text terms are disabled, like the code's ablation variants).
  It depends on ``terms`` only, not on what a batch happens to contain.

Choices, against the paper and the released code (docs/fidelity.md, B1–B9):

* Temperatures τ1 = 0.03 (I–M, I–I) and τ2 = 0.3 (I–T, T–M): paper Appendix A (code: 0.7/0.8, B1).
* Every term is symmetric with intra-modal negatives by default (``intra``, ``decoupled``: see
  :func:`~mvkl.losses.ntxent.nt_xent`; B3–B5).
* ``hard_negatives``: ``"none"`` and ``"manineg"`` use plain NT-Xent (ManiNeg changes only which
  lumps form a batch, through the sampler); ``"robinson"`` replaces the I–M and I–I terms with
  :func:`~mvkl.losses.hcl.robinson_hcl` without label smoothing, which is the released ViKL code's
  ``Vikl_Fusion`` (the "△" rows of Tables 4/6; B8).
* ITM image view (B7): ``"random"`` picks view1 or view2 per sample (paper Sec. 4.2);
  ``"view1"`` is the ViKL code; ``"mean"`` averages each image–X term computed with view1 and
  with view2 (ManiNeg code).
* Manifestation de-dup (B9, paper Sec. 4.2 "randomly retain one"): :func:`manifest_dedup_rows`
  keeps one seeded-random row per distinct (manifestation, known mask). ``dedup_scope=
  "manifest_terms"`` (default, like the code) applies it to the rows of the I–M and T–M terms
  (each term de-duplicates its own eligible rows); ``"batch"`` removes duplicate-manifestation rows
  from every term, I–I and I–T included (the paper's "every pair in the mini batch"). Rows without a
  known manifestation are never de-duplicated.
* Missing modalities: rows without a report skip the terms with text, rows without a known
  manifestation the terms with manifestations (the model's ``text_rows`` / ``manifest_rows``). A
  term with fewer than 2 rows contributes 0 (kept in the autograd graph, so DDP sees every
  parameter that ran).

Random draws (view choice, then de-dup of ``im``, then of ``tm``; or the batch de-dup) come from
``generator`` (a CPU ``torch.Generator``; None = the global torch RNG). They are gathered in a
:class:`VikLPlan` (:func:`vikl_plan`), which can be passed back to :func:`vikl_loss`. Row
bookkeeping runs on the CPU (pass CPU ``text_rows``/``manifest_rows`` to the model to avoid syncs).
Components are detached tensors; nothing calls ``.item()`` (B45).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor

from mvkl.config import LOSS
from mvkl.losses.hcl import robinson_hcl
from mvkl.losses.ntxent import nt_xent

__all__ = ["INTER_TERMS", "TERMS", "VikLPlan", "manifest_dedup_rows", "vikl_loss", "vikl_plan"]

TERMS = ("ii", "it", "im", "tm")
INTER_TERMS = ("it", "im", "tm")
_HN = ("none", "robinson", "manineg")
_VIEWS = ("random", "view1", "mean")
_SCOPES = ("manifest_terms", "batch")


def manifest_dedup_rows(manifest: Tensor, known: Tensor | None = None,
                        generator: torch.Generator | None = None) -> Tensor:
    """Indices (CPU long, ascending) keeping one random row per distinct (manifestation, known mask).

    Values are binarised at 0.5. ``known=None`` means every dimension is known. Which
    row of a group survives is uniform at random under ``generator`` (the code kept the first
    one; the paper says "randomly retain one").
    """
    m = manifest.detach().cpu()
    if m.dim() != 2:
        raise ValueError(f"expected (n, d) manifestations, got {tuple(m.shape)}")
    n = m.shape[0]
    if n == 0:
        return torch.zeros(0, dtype=torch.long)
    k = torch.ones_like(m) if known is None else known.detach().cpu()
    if k.shape != m.shape:
        raise ValueError(f"known mask {tuple(k.shape)} does not match manifestations {tuple(m.shape)}")
    key = torch.cat([(m > 0.5), (k > 0.5)], dim=1).to(torch.uint8)
    _, group = torch.unique(key, dim=0, return_inverse=True)
    order = torch.randperm(n, generator=generator)
    sorted_group, pos = torch.sort(group[order], stable=True)
    first = torch.ones(n, dtype=torch.bool)
    first[1:] = sorted_group[1:] != sorted_group[:-1]
    return torch.sort(order[pos[first]]).values


@dataclass
class VikLPlan:
    """The batch rows each term uses and the per-sample ITM view (0 = view1, 1 = view2; None = mean)."""

    rows: dict[str, Tensor] = field(default_factory=dict)
    view: Tensor | None = None


def _positions(out: Mapping[str, Any], z_key: str, rows_key: str, batch: int) -> Tensor:
    """Map batch row → row of ``out[z_key]`` (−1 where the modality is absent for that row)."""
    pos = torch.full((batch,), -1, dtype=torch.long)
    z = out.get(z_key)
    if z is None:
        return pos
    rows = out.get(rows_key)
    r = torch.arange(batch) if rows is None else torch.as_tensor(rows).detach().cpu().long()
    if r.shape[0] != z.shape[0]:
        raise ValueError(f"out[{rows_key!r}] has {r.shape[0]} rows but out[{z_key!r}] has {z.shape[0]}")
    pos[r] = torch.arange(r.shape[0])
    return pos


def _check(terms: Sequence[str], itm_view: str, dedup_scope: str, hard_negatives: str) -> None:
    if not terms or len(set(terms)) != len(terms) or any(t not in TERMS for t in terms):
        raise ValueError(f"terms must be distinct names from {TERMS}, got {tuple(terms)}")
    for name, value, allowed in (("itm_view", itm_view, _VIEWS), ("dedup_scope", dedup_scope, _SCOPES),
                                 ("hard_negatives", hard_negatives, _HN)):
        if value not in allowed:
            raise ValueError(f"{name} must be one of {allowed}, got {value!r}")


def vikl_plan(out: Mapping[str, Any], *, itm_view: str = LOSS.itm_view, dedup_scope: str = LOSS.dedup_scope,
              terms: Sequence[str] = TERMS, generator: torch.Generator | None = None) -> VikLPlan:
    """Choose the ITM views and the rows of every enabled term (see the module docstring)."""
    _check(terms, itm_view, dedup_scope, "none")
    b = out["z1"].shape[0]
    pos_t, pos_m = _positions(out, "zt", "text_rows", b), _positions(out, "zm", "manifest_rows", b)
    has_t, has_m = pos_t >= 0, pos_m >= 0
    plan = VikLPlan()
    if itm_view == "random":
        plan.view = torch.randint(0, 2, (b,), generator=generator)
    elif itm_view == "view1":
        plan.view = torch.zeros(b, dtype=torch.long)

    def dedup(rows: Tensor) -> Tensor:
        if rows.numel() == 0:
            return rows
        man, known = out.get("manifest"), out.get("manifest_known")
        if man is None:
            raise ValueError("manifestation de-dup needs out['manifest'] (the model's manifestation input)")
        p = pos_m[rows]
        keep = manifest_dedup_rows(man.detach().cpu()[p], None if known is None else known.detach().cpu()[p],
                                   generator)
        return rows[keep]

    everyone = torch.ones(b, dtype=torch.bool)
    if dedup_scope == "batch":
        keep = ~has_m
        keep[dedup(torch.nonzero(has_m).flatten())] = True
        everyone = keep
    eligible = {"ii": everyone, "it": everyone & has_t, "im": everyone & has_m, "tm": everyone & has_t & has_m}
    for term in TERMS:
        if term not in terms:
            continue
        rows = torch.nonzero(eligible[term]).flatten()
        if dedup_scope == "manifest_terms" and term in ("im", "tm"):
            rows = dedup(rows)
        plan.rows[term] = rows
    return plan


def vikl_loss(out: Mapping[str, Any], *, tau1: float | Tensor = LOSS.tau1, tau2: float | Tensor = LOSS.tau2,
              ls_text: float = LOSS.label_smoothing, ls_other: float = LOSS.label_smoothing_other,
              hard_negatives: str = LOSS.hard_negatives, itm_view: str = LOSS.itm_view,
              dedup_scope: str = LOSS.dedup_scope, intra: bool = LOSS.intra, decoupled: bool = LOSS.decoupled,
              generator: torch.Generator | None = None, terms: Sequence[str] = TERMS,
              plan: VikLPlan | None = None, tau_plus: float = LOSS.tau_plus,
              beta: float = LOSS.beta) -> tuple[Tensor, dict[str, Tensor]]:
    """The ViKL loss of a model output (:meth:`mvkl.models.ViKL.forward`).

    ``out`` needs ``z1``, ``z2`` and, where present, ``zt`` + ``text_rows``, ``zm`` +
    ``manifest_rows`` + ``manifest`` (+ ``manifest_known``); the de-dup reads ``manifest`` on the
    CPU, so on a GPU put CPU copies there (``out["manifest"] = m_cpu``) to avoid a device sync.
    ``plan`` (from :func:`vikl_plan` with the same ``terms``) overrides the random choices.
    ``tau_plus`` / ``beta`` are Robinson's τ⁺ and β. Defaults: :data:`mvkl.config.LOSS`.

    Returns ``(loss, components)``; components are detached tensors: ``loss``, ``imc``, ``itm``,
    each enabled term (``ii``, ``it``, ``im``, ``tm``) and its row count ``n_<term>``.
    """
    _check(terms, itm_view, dedup_scope, hard_negatives)
    if hard_negatives == "robinson" and ls_other:
        raise ValueError("hard_negatives='robinson' uses HCL on I-M and I-I, which has no label smoothing; "
                         "set ls_other=0")
    if plan is None:
        plan = vikl_plan(out, itm_view=itm_view, dedup_scope=dedup_scope, terms=terms, generator=generator)
    elif any(t not in plan.rows for t in terms):
        raise ValueError(f"the plan has rows for {sorted(plan.rows)} but terms are {tuple(terms)}")
    z1, z2, zt, zm = out["z1"], out["z2"], out.get("zt"), out.get("zm")
    b, dev = z1.shape[0], z1.device
    pos_t, pos_m = _positions(out, "zt", "text_rows", b), _positions(out, "zm", "manifest_rows", b)
    present = [t for t in (z1, z2, zt, zm) if t is not None]

    def on(idx: Tensor) -> Tensor:
        return idx.to(dev, non_blocking=True)

    def image_sides(rows: Tensor) -> list[Tensor]:
        r = on(rows)
        if plan.view is None:
            return [z1[r], z2[r]]
        pick = on(plan.view[rows]).bool().unsqueeze(1)
        return [torch.where(pick, z2[r], z1[r])]

    def contrast(x: Tensor, y: Tensor, tau: float | Tensor, alpha: float, hcl: bool) -> Tensor:
        if hcl:
            return robinson_hcl(x, y, tau, tau_plus=tau_plus, beta=beta, intra=intra)
        return nt_xent(x, y, tau, label_smoothing=alpha, intra=intra, decoupled=decoupled)

    def term_value(term: str, rows: Tensor) -> Tensor:
        hcl = hard_negatives == "robinson" and term in ("ii", "im")
        if term == "ii":
            r = on(rows)
            return contrast(z1[r], z2[r], tau1, ls_other, hcl)
        if term == "tm":
            assert zt is not None and zm is not None
            return contrast(zt[on(pos_t[rows])], zm[on(pos_m[rows])], tau2, ls_text, False)
        other = zt[on(pos_t[rows])] if term == "it" else zm[on(pos_m[rows])]  # type: ignore[index]
        tau, alpha = (tau2, ls_text) if term == "it" else (tau1, ls_other)
        sides = image_sides(rows)
        return sum(contrast(x, other, tau, alpha, hcl) for x in sides) / len(sides)

    comps: dict[str, Tensor] = {}
    values: dict[str, Tensor] = {}
    for term in terms:
        rows = plan.rows[term]
        comps[f"n_{term}"] = torch.tensor(rows.numel())
        if rows.numel() < 2:
            values[term] = sum(t.sum() for t in present) * 0.0  # 0, still in the graph
        else:
            values[term] = term_value(term, rows)
        comps[term] = values[term].detach()
    inter = [values[t] for t in INTER_TERMS if t in terms]
    zero = torch.zeros((), device=dev)
    itm = sum(inter) / len(inter) if inter else zero
    imc = values.get("ii", zero)
    loss = imc + itm
    comps.update(loss=loss.detach(), imc=imc.detach(), itm=torch.as_tensor(itm).detach())
    return loss, comps
