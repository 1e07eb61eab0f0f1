"""The model gate: bless a candidate only if it clears every check, like TFX's Evaluator blessing.

Checks, all on the same test data:
- absolute floors (`evaluate.gate.floors`, e.g. `rmse: {max: 90}`, `r2: {min: 0.6}`);
- the baselines: the candidate must beat each on the primary metric (`evaluate.gate.require_beating_baselines`);
- the champion (the production model of the model store): the candidate may be worse by at most
  `evaluate.gate.max_worse_than_champion_pct` per metric. No champion (first deployment) passes; a champion that
  cannot be scored on this data fails, since nothing would then show the candidate is not worse.
- the trusted holdout (tasks/evaluation/holdout.py): the same allowance, with candidate and champion scored on the rows
the
  champion was blessed on, so broken new rows cannot make a bad candidate look better. A holdout that fails its
  hash check, or on which either model cannot be scored, fails; a champion stored before holdouts passes with a note.

`evaluate.gate.override: true` with a non-empty `override_reason` blesses a candidate that failed; the failed checks
and the reason stay in the blessing, the report and the model card. The blessing records which champion it was
measured against, so `deploy` can refuse it if production has moved since.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tasks.core.errors import PipelineError
from tasks.core.params import Params
from tasks.objectives.metrics import headline_metrics, lower_is_better, metric_label, relative_worsening


@dataclass(frozen=True)
class GatePolicy:
    primary_metric: str
    require_beating_baselines: bool = True
    floors: dict[str, dict[str, float]] = field(default_factory=dict)
    max_worse_than_champion_pct: dict[str, float] = field(default_factory=dict)
    override: bool = False
    override_reason: str = ""


def read_gate_policy(params: Params, task: str) -> GatePolicy:
    """`evaluate.gate` from params.yaml, checked; a PipelineError names the key that is wrong."""
    key = "evaluate.gate"
    known = set(headline_metrics(task))
    primary = params.get(f"{key}.primary_metric", str, headline_metrics(task)[0])
    if primary not in known:
        raise PipelineError(f"{params.source}: '{key}.primary_metric' is {primary!r}; expected one of {sorted(known)}")
    floors: dict[str, dict[str, float]] = {}
    for metric, limits in (params.get(f"{key}.floors", (dict, type(None)), None) or {}).items():
        where = f"{params.source}: '{key}.floors.{metric}'"
        if metric not in known:
            raise PipelineError(f"{where}: unknown metric; expected one of {sorted(known)}")
        if not isinstance(limits, dict) or not limits or set(limits) - {"min", "max"}:
            raise PipelineError(f"{where} must be a mapping with 'min' and/or 'max', got {limits!r}")
        if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in limits.values()):
            raise PipelineError(f"{where}: limits must be numbers, got {limits!r}")
        floors[metric] = {k: float(v) for k, v in limits.items()}
    allowed: dict[str, float] = {}
    for metric, pct in (params.get(f"{key}.max_worse_than_champion_pct", (dict, type(None)), None) or {}).items():
        where = f"{params.source}: '{key}.max_worse_than_champion_pct.{metric}'"
        if metric not in known:
            raise PipelineError(f"{where}: unknown metric; expected one of {sorted(known)}")
        if not isinstance(pct, int | float) or isinstance(pct, bool) or pct < 0:
            raise PipelineError(f"{where} must be a number >= 0 (percent), got {pct!r}")
        allowed[metric] = float(pct)
    override = params.get(f"{key}.override", bool, False)
    reason = (params.get(f"{key}.override_reason", (str, type(None)), "") or "").strip()
    if override and not reason:
        raise PipelineError(
            f"{params.source}: '{key}.override' is true but '{key}.override_reason' is empty; "
            "say why this model may skip the gate (it is recorded in the report and the model card)"
        )
    return GatePolicy(
        primary_metric=primary,
        require_beating_baselines=params.get(f"{key}.require_beating_baselines", bool, True),
        floors=floors,
        max_worse_than_champion_pct=allowed,
        override=override,
        override_reason=reason,
    )


def _check(kind: str, metric: str | None, passed: bool, reason: str, **details: Any) -> dict[str, Any]:
    return {"check": kind, "metric": metric, "passed": bool(passed), "reason": reason, **details}


def floor_checks(candidate: dict[str, float], floors: dict[str, dict[str, float]]) -> list[dict[str, Any]]:
    checks = []
    for metric, limits in floors.items():
        value = candidate[metric]
        for bound, limit in limits.items():
            passed = value <= limit if bound == "max" else value >= limit
            relation = ("<=" if bound == "max" else ">=") if passed else ("above" if bound == "max" else "below")
            verb = "meets" if passed else "fails"
            reason = f"{verb} floor: {metric_label(metric)} {value:.4g} {relation} the {bound} {limit:.4g}"
            checks.append(_check("floor", metric, passed, reason, value=value, limit=limit, bound=bound))
    return checks


def baseline_checks(
    candidate: dict[str, float], baselines: dict[str, dict[str, float]], metric: str
) -> list[dict[str, Any]]:
    """One check per baseline: does the candidate beat it on `metric`, and by how much (percent of the baseline)."""
    checks = []
    for name, scores in baselines.items():
        improvement = -relative_worsening(metric, candidate[metric], scores[metric]) * 100
        passed = improvement > 0
        how = f"beats it by {improvement:.1f}%" if passed else f"does not beat it ({-improvement:.1f}% worse)"
        reason = f"{name} baseline: {metric_label(metric)} {candidate[metric]:.4g} vs {scores[metric]:.4g}, {how}"
        checks.append(_check("baseline", metric, passed, reason, baseline=name, improvement_pct=improvement))
    return checks


def champion_checks(
    candidate: dict[str, float], champion: dict[str, Any] | None, allowed: dict[str, float]
) -> list[dict[str, Any]]:
    """Compare with the production model; `champion` is None (none yet) or {version, metrics} or {version, error}."""
    if champion is None:
        return [_check("champion", None, True, "no model in production yet: nothing to compare with (first deploy)")]
    version = champion.get("version")
    if champion.get("error"):
        reason = (
            f"the production model (version {version}) could not be scored on this test data: {champion['error']}; "
            "if the inputs changed on purpose, set evaluate.gate.override with a reason"
        )
        return [_check("champion", None, False, reason)]
    checks = []
    for metric, pct in allowed.items():
        ours, theirs = candidate[metric], champion["metrics"][metric]
        worse_pct = relative_worsening(metric, ours, theirs) * 100
        passed = worse_pct <= pct
        change = (
            "equal" if abs(worse_pct) < 0.005 else f"{abs(worse_pct):.2f}% {'worse' if worse_pct > 0 else 'better'}"
        )
        verb = "within" if passed else "exceeds"
        reason = (
            f"vs production version {version}: {metric_label(metric)} {ours:.4g} vs {theirs:.4g}, {change} "
            f"({verb} the {pct:g}% allowed)"
        )
        checks.append(_check("champion", metric, passed, reason, worse_pct=worse_pct, allowed_pct=pct))
    return checks


def holdout_checks(holdout: dict[str, Any] | None, allowed: dict[str, float]) -> list[dict[str, Any]]:
    """Compare with the champion on its trusted holdout. `holdout` is None (no champion), {version, absent},
    {version, error} or {version, rows, candidate: metrics, champion: metrics}."""
    if holdout is None:
        return []
    version = holdout.get("version")
    if holdout.get("absent"):
        return [
            _check("holdout", None, True, f"production version {version} has no trusted holdout: {holdout['absent']}")
        ]
    if holdout.get("error"):
        reason = f"the trusted holdout of production version {version} cannot be used: {holdout['error']}"
        return [_check("holdout", None, False, reason)]
    checks = []
    for metric, pct in allowed.items():
        ours, theirs = holdout["candidate"][metric], holdout["champion"][metric]
        worse_pct = relative_worsening(metric, ours, theirs) * 100
        passed = worse_pct <= pct
        change = (
            "equal" if abs(worse_pct) < 0.005 else f"{abs(worse_pct):.2f}% {'worse' if worse_pct > 0 else 'better'}"
        )
        reason = (
            f"on the trusted holdout of production version {version} ({holdout.get('rows')} rows it was blessed on"
            + (f", {holdout['trained_on']} the candidate trained on left out" if holdout.get("trained_on") else "")
            + "): "
            f"{metric_label(metric)} {ours:.4g} vs {theirs:.4g}, {change} "
            f"({'within' if passed else 'exceeds'} the {pct:g}% allowed)"
        )
        checks.append(_check("holdout", metric, passed, reason, worse_pct=worse_pct, allowed_pct=pct))
    return checks


def decide_blessing(
    candidate: dict[str, float],
    baselines: dict[str, dict[str, float]],
    champion: dict[str, Any] | None,
    policy: GatePolicy,
    holdout: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The blessing: every check with its reason, whether they all passed, and whether an override blessed it anyway.

    `champion` identifies the production model it was compared with ({version, fingerprint, metrics} or with
    `error`), or is None when there is none; its identity is kept so deploy can tell a stale blessing. `holdout` is
    the comparison on the champion's trusted holdout (see `holdout_checks`).
    """
    checks = floor_checks(candidate, policy.floors)
    baseline = baseline_checks(candidate, baselines, policy.primary_metric)
    if policy.require_beating_baselines:
        checks += baseline
    else:
        checks += [{**c, "passed": True, "reason": c["reason"] + " (not required)"} for c in baseline]
    checks += champion_checks(candidate, champion, policy.max_worse_than_champion_pct)
    checks += holdout_checks(holdout, policy.max_worse_than_champion_pct)
    passed = all(c["passed"] for c in checks)
    failed = [c["reason"] for c in checks if not c["passed"]]
    reasons = [("FAILED " if not c["passed"] else "") + c["reason"] for c in checks]
    overridden = policy.override and not passed
    if overridden:
        reasons.append(f"OVERRIDE: blessed despite {len(failed)} failed check(s): {policy.override_reason}")
    elif policy.override:
        reasons.append("override requested but not needed: every check passed")
    identity = None
    if champion is not None:
        identity = {k: champion.get(k) for k in ("version", "fingerprint", "path")}
    return {
        "blessed": passed or overridden,
        "passed": passed,
        "overridden": overridden,
        "override_reason": policy.override_reason if overridden else None,
        "primary_metric": policy.primary_metric,
        "lower_is_better": lower_is_better(policy.primary_metric),
        "beats_baselines": all(c["passed"] for c in baseline),
        "champion": identity,
        "checks": checks,
        "failed": failed,
        "reasons": reasons,
    }
