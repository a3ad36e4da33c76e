"""Population parameters of the customer-base models: the priors, storage, and periodic refit.

One immutable :class:`PopulationParams` is shared by every score evaluation; the scorer swaps in a
new one after :func:`refit` on a snapshot of per-customer statistics. Components without enough data
keep their previous (initially prior) values, and ``sources`` records which were fitted and why
the others were kept, so a CSM can see what the numbers rest on.

All times are in DAYS (BG/NBD α is a time scale, converted from the papers' weeks).
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any

from .models import fitting
from .models.bgnbd import BGParams
from .models.gammagamma import GGParams
from .models.sbg import SBGParams

DEFAULT_PLAN = "default"
# Renewal models are kept per plan AND billing period ("pro@year"): a monthly and an annual
# renewal are different events and must never be pooled.
DEFAULT_PERIOD = "month"
PERIOD_DAYS = {"day": 1.0, "week": 7.0, "month": 30.4375, "quarter": 91.3125, "year": 365.25}


def sbg_key(plan: str | None, period: str = DEFAULT_PERIOD) -> str:
    return f"{plan or DEFAULT_PLAN}@{period}"


DEFAULT_SBG_KEY = sbg_key(DEFAULT_PLAN)
DAYS_PER_WEEK = 7.0
PRIOR_VERSION = "prior"
# Refit a component only from at least this many customers (on top of fitting's own minimums);
# fewer would let a handful of early customers move every score in the population.
DEFAULT_MIN_CUSTOMERS = fitting.MIN_CUSTOMERS_PURCHASES
# A fit whose standard error exceeds its estimate has a 95% interval from ~0 to ~3× the value: the
# data cannot tell the parameter apart from its neighbours (e.g. α vs β when every subscriber has
# seen only one renewal). Keep the previous value instead of swapping in noise.
MAX_RELATIVE_SE = 1.0


@dataclass(frozen=True)
class CustomerStatsRow:
    """One customer's sufficient statistics, as snapshotted from the scorer's table.

    Purchases (None when the customer never bought): ``x`` repeat purchases, ``t_x`` day of the
    last purchase and ``T`` age, both in days since the first purchase; ``monetary`` = mean value of
    the repeat purchases over ``frequency`` of them (defaults to x).
    Subscription (None when not a subscriber): ``renewals`` survived, ``active`` still paying.
    """

    x: int | None = None
    t_x: float | None = None
    T: float | None = None
    plan: str = DEFAULT_PLAN
    period: str = DEFAULT_PERIOD
    renewals: int | None = None
    active: bool | None = None
    monetary: float | None = None
    frequency: int | None = None


@dataclass(frozen=True)
class PopulationParams:
    """Parameters of every model (treat the dicts as read-only).

    ``sbg`` maps "plan@period" -> (alpha, beta) per billing period and always has a
    ``"default@month"`` entry; plans without their own fit use "default@<period>", and periods
    without any fit a prior derived from the monthly default (same mean churn per day).
    ``version`` is "prior" or "fit-<UTC time>-<hash>".
    ``sources`` maps each component ("bgnbd", "mbgnbd", "gammagamma", "sbg:<plan>") to how it was
    obtained ("prior: ...", "fit: n=..., loglik=...", or "kept: <reason the refit was skipped>").
    """

    bgnbd: BGParams
    mbgnbd: BGParams
    sbg: dict[str, SBGParams]
    gammagamma: GGParams
    version: str = PRIOR_VERSION
    fitted_at: datetime | None = None
    n_customers: int = 0
    sources: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if DEFAULT_SBG_KEY not in self.sbg:
            raise ValueError(
                f"sbg parameters need a {DEFAULT_SBG_KEY!r} entry, got {sorted(self.sbg)}"
            )

    def sbg_for(self, plan: str | None, period: str = DEFAULT_PERIOD) -> SBGParams:
        """sBG parameters of ``plan`` billed per ``period``: its own fit, else the period's
        default, else the monthly default converted to the period."""
        own = self.sbg.get(sbg_key(plan, period))
        if own is not None:
            return own
        default = self.sbg.get(sbg_key(DEFAULT_PLAN, period))
        if default is not None:
            return default
        return derived_prior(self.sbg[DEFAULT_SBG_KEY], period)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict; :meth:`from_dict` reverses it."""
        return {
            "version": self.version,
            "fitted_at": self.fitted_at.isoformat() if self.fitted_at else None,
            "n_customers": self.n_customers,
            "bgnbd": self.bgnbd._asdict(),
            "mbgnbd": self.mbgnbd._asdict(),
            "sbg": {plan: p._asdict() for plan, p in self.sbg.items()},
            "gammagamma": self.gammagamma._asdict(),
            "sources": dict(self.sources),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PopulationParams:
        fitted_at = data.get("fitted_at")
        return cls(
            bgnbd=BGParams(**data["bgnbd"]),
            mbgnbd=BGParams(**data["mbgnbd"]),
            sbg={_sbg_key_of(key): SBGParams(**p) for key, p in data["sbg"].items()},
            gammagamma=GGParams(**data["gammagamma"]),
            version=str(data.get("version", PRIOR_VERSION)),
            fitted_at=datetime.fromisoformat(fitted_at) if fitted_at else None,
            n_customers=int(data.get("n_customers", 0)),
            sources=dict(data.get("sources", {})),
        )


def _sbg_key_of(key: str) -> str:
    """Keys stored before periods were kept apart ("pro") were monthly fits ("pro@month")."""
    return key if "@" in key else sbg_key(key)


def derived_prior(monthly: SBGParams, period: str) -> SBGParams:
    """A prior for another billing period with the monthly prior's churn per day and spread:
    mean churn per period 1 − (1 − m)^(days/month), same α + β."""
    days = PERIOD_DAYS.get(period)
    if days is None:
        try:
            days = float(period.removesuffix("d"))
        except ValueError:
            return monthly
    total = monthly.alpha + monthly.beta
    churn = 1.0 - (1.0 - monthly.alpha / total) ** (days / PERIOD_DAYS[DEFAULT_PERIOD])
    churn = min(0.99, max(1e-4, churn))
    return SBGParams(alpha=churn * total, beta=(1.0 - churn) * total)


# --- priors ------------------------------------------------------------------------------------
# BG/NBD: Fader, Hardie & Lee (2005), CDNOW, table in §5: r=0.243, α=4.414 weeks, a=0.793, b=2.426.
# MBG/NBD: our own MLE (fitting.fit_mbgnbd) on the same CDNOW summary that ships with lifetimes
#   (2,357 customers), since Batislam et al. fit a grocery panel we do not have; α=6.183 weeks.
# sBG: per MONTH, the SaaS default billing period: a mean churn of 3 %/month (α/(α+β)) with wide
#   heterogeneity (α+β = 10), so renewal odds improve with tenure as the paper's cohorts do. The
#   paper's yearly "regular" segment (α=0.704, β=1.182; Fader & Hardie 2007) would put a monthly
#   plan's first renewal at 63 %: refit per plan as soon as there is data. Per YEAR: a mean churn
#   of 20 %/year (annual contracts churn far less than 12 monthly renewals would), α+β = 5.
# Gamma-Gamma: lifetimes' CDNOW example (946 repeat buyers, US$): p=6.25, q=3.74, v=15.44, i.e. a
#   mean spend of ~US$35 per purchase; a placeholder scale until the first refit.
PRIORS = PopulationParams(
    bgnbd=BGParams(r=0.243, alpha=4.414 * DAYS_PER_WEEK, a=0.793, b=2.426),
    mbgnbd=BGParams(r=0.525, alpha=6.183 * DAYS_PER_WEEK, a=0.891, b=1.614),
    sbg={
        DEFAULT_SBG_KEY: SBGParams(alpha=0.3, beta=9.7),
        sbg_key(DEFAULT_PLAN, "year"): SBGParams(alpha=1.0, beta=4.0),
    },
    gammagamma=GGParams(p=6.25, q=3.74, v=15.44),
    version=PRIOR_VERSION,
    sources={
        "bgnbd": "prior: Fader, Hardie & Lee 2005 CDNOW (weeks converted to days)",
        "mbgnbd": "prior: MLE on the CDNOW summary shipped with lifetimes (days)",
        "sbg:default@month": "prior: 3 %/month mean churn, alpha+beta=10",
        "sbg:default@year": "prior: 20 %/year mean churn, alpha+beta=5",
        "gammagamma": "prior: lifetimes CDNOW Gamma-Gamma example (US$)",
    },
)


def _describe(result: fitting.FitResult) -> str:
    se = ", ".join(f"{k}±{v:.3g}" for k, v in result.standard_errors.items())
    return f"fit: n={result.n}, loglik={result.loglik:.1f}, se: {se}"


def _try_fit(
    fit: Callable[[], fitting.FitResult], n: int, min_customers: int
) -> tuple[fitting.FitResult | None, str]:
    """Run ``fit``; return (result, "") or (None, reason it was not usable)."""
    if n < min_customers:
        return None, f"kept: {n} customers < min_customers={min_customers}"
    try:
        result = fit()
    except fitting.FitError as exc:
        return None, f"kept: {type(exc).__name__}: {exc}"
    if not result.converged:
        return None, f"kept: fit did not converge ({result.message})"
    if result.max_relative_se() > MAX_RELATIVE_SE:
        return None, (
            f"kept: a standard error exceeds {MAX_RELATIVE_SE:g}× its estimate "
            f"({_describe(result)}); the data do not identify the parameters yet"
        )
    return result, ""


def refit(
    stats: Iterable[CustomerStatsRow],
    min_customers: int = DEFAULT_MIN_CUSTOMERS,
    *,
    fallback: PopulationParams = PRIORS,
    now: datetime | None = None,
) -> PopulationParams:
    """Fit every component that has enough data; keep ``fallback``'s values for the rest.

    Purchases use rows with x, t_x, T set; Gamma-Gamma rows with frequency > 0 and monetary > 0;
    sBG pools all subscription rows for "default" and fits each plan with enough of its own.
    ``now`` (UTC) stamps ``fitted_at`` and the version; it is a parameter so replays are
    reproducible. Raises nothing for lack of data: ``sources`` says what happened.
    """
    rows = list(stats)
    fitted_at = now or datetime.now(UTC)
    sources: dict[str, str] = {}

    buyers = [r for r in rows if r.x is not None and r.t_x is not None and r.T is not None]
    xs = [float(r.x) for r in buyers if r.x is not None]
    txs = [float(r.t_x) for r in buyers if r.t_x is not None]
    Ts = [float(r.T) for r in buyers if r.T is not None]

    bg = fallback.bgnbd
    res, why = _try_fit(lambda: fitting.fit_bgnbd(xs, txs, Ts, bg), len(buyers), min_customers)
    bg, sources["bgnbd"] = (BGParams(*res.values()), _describe(res)) if res else (bg, why)

    mbg = fallback.mbgnbd
    res, why = _try_fit(lambda: fitting.fit_mbgnbd(xs, txs, Ts, mbg), len(buyers), min_customers)
    mbg, sources["mbgnbd"] = (BGParams(*res.values()), _describe(res)) if res else (mbg, why)

    spenders = [
        (float(r.frequency if r.frequency is not None else r.x or 0), float(r.monetary))
        for r in rows
        if r.monetary is not None and r.monetary > 0
    ]
    spenders = [(f, m) for f, m in spenders if f > 0]
    gg = fallback.gammagamma
    res, why = _try_fit(
        lambda: fitting.fit_gammagamma([f for f, _ in spenders], [m for _, m in spenders], gg),
        len(spenders),
        min_customers,
    )
    if res is not None and res.params["q"] <= 1.0:
        why = f"kept: fitted q={res.params['q']:.3g} <= 1 gives an infinite mean spend"
        res = None
    gg, sources["gammagamma"] = (GGParams(*res.values()), _describe(res)) if res else (gg, why)

    sbg_params = dict(fallback.sbg)
    by_group: dict[str, list[tuple[int, bool]]] = defaultdict(list)
    for r in rows:
        if r.renewals is not None and r.active is not None:
            by_group[sbg_key(r.plan, r.period)].append((r.renewals, r.active))
    groups: dict[str, list[tuple[int, bool]]] = defaultdict(list)
    groups[DEFAULT_SBG_KEY] = []  # always reported, fitted or kept
    for key, obs in by_group.items():
        period = key.split("@", 1)[1]
        groups[sbg_key(DEFAULT_PLAN, period)].extend(obs)  # each period pools its own plans only
        if not key.startswith(f"{DEFAULT_PLAN}@"):
            groups[key] = obs
    for key, obs in groups.items():
        plan, period = key.split("@", 1)
        start = fallback.sbg_for(plan, period)
        fit = partial(fitting.fit_sbg_individual, [n for n, _ in obs], [a for _, a in obs], start)
        res, why = _try_fit(fit, len(obs), min_customers)
        if res is not None:
            sbg_params[key] = SBGParams(*res.values())
            sources[f"sbg:{key}"] = _describe(res)
        else:
            sources[f"sbg:{key}"] = why + (
                "" if key in sbg_params else f" (uses the {period} default)"
            )

    for component, how in fallback.sources.items():
        sources.setdefault(component, how)  # plans absent from this snapshot keep their history
    body = {"bgnbd": bg, "mbgnbd": mbg, "sbg": sbg_params, "gammagamma": gg}
    digest = hashlib.sha256(json.dumps(body, sort_keys=True, default=list).encode()).hexdigest()
    return PopulationParams(
        bgnbd=bg,
        mbgnbd=mbg,
        sbg=sbg_params,
        gammagamma=gg,
        version=f"fit-{fitted_at.astimezone(UTC):%Y%m%dT%H%M%SZ}-{digest[:8]}",
        fitted_at=fitted_at,
        n_customers=len(rows),
        sources=sources,
    )
