"""Shopper state as arrays over a batch of N shoppers, drawing new shoppers from the segment mixture, and the
transition of a shopper's state after a visit (named functions, applied in order by the core)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from shopgym.catalog import Catalog
from shopgym.market import Coefficients, Market

__all__ = [
    "HIDDEN_FEATURES",
    "HISTORY_MEMORY",
    "OWNED_MEMORY",
    "ShopperState",
    "VisitRecord",
    "churn_hazard",
    "engagement_after",
    "reference_update",
    "sample_shoppers",
    "transition",
    "wear_update",
]

#: Decay of the platform's observable history averages (click rate, history taste, exposure, …).
HISTORY_MEMORY = 0.8
#: How many of a shopper's last purchased items the shopper remembers owning (``owned``).
OWNED_MEMORY = 16

#: Names of the hidden per-shopper quantities added to observations when ``observability="full"``
#: (``reference_price`` is the mean over categories; the candidate's own is an item feature).
HIDDEN_FEATURES = (
    "reference_price",
    "deal_wear",
    "engagement",
    "price_sensitivity",
    "promo_affinity",
    "gain_coef",
    "loss_coef",
    "log_wallet",
)


@dataclass(eq=False)
class ShopperState:
    """All per-shopper arrays. Leading axis N; ``d`` embedding dim, ``C`` categories, ``K`` candidates.

    Hidden (the policy does not see these unless ``observability="full"``): ``segment``, ``taste``,
    ``price_sensitivity`` (β), ``promo_affinity``, ``gain_coef`` (η⁺), ``loss_coef`` (η⁻), ``reference_price``
    [N, C] (ρ_c, a fraction of list price, per category), ``deal_wear`` (w ∈ [0, 1], how often deals were shown
    lately), ``inventory`` [N, C] (units in stock per category) and ``consumption_rate`` (share of it used per day),
    ``owned`` [N, OWNED_MEMORY] the last items bought (most recent first, −1 = none),
    ``fatigue`` [N, C], ``engagement`` ∈ [0, 1], ``wallet`` (currency) and its ``budget_income`` (per day) /
    ``budget_cap``, ``visit_interval`` (mean days between visits), ``first_visit_churn`` (the extra chance of
    leaving after the first visit), ``topup_chance`` and ``topup_interval`` (top-up trips), ``routine_purchase``
    and ``routine_extra_units`` (routine lines, docs/model.md §5), and ``day``: days from the shopper's first visit
    to the next one.

    Observable history (what a platform logs): ``visits``, ``history_taste`` [N, d] (EMA of embeddings of
    clicked and bought items), ``category_share`` [N, C] (EMA of purchases per category), ``exposure`` [N, C]
    (EMA of what was shown), ``click_rate``, ``purchase_rate``, ``offered_discount`` (EMA), ``last_discount``,
    ``last_click``, ``last_purchase``, ``spend`` (EMA of spend, currency), and ``candidates`` [N, K] item ids.
    """

    segment: np.ndarray
    taste: np.ndarray
    price_sensitivity: np.ndarray
    promo_affinity: np.ndarray
    gain_coef: np.ndarray
    loss_coef: np.ndarray
    reference_price: np.ndarray
    deal_wear: np.ndarray
    inventory: np.ndarray
    consumption_rate: np.ndarray
    owned: np.ndarray
    fatigue: np.ndarray
    engagement: np.ndarray
    wallet: np.ndarray
    budget_income: np.ndarray
    budget_cap: np.ndarray
    visit_interval: np.ndarray
    first_visit_churn: np.ndarray
    topup_chance: np.ndarray
    topup_interval: np.ndarray
    routine_purchase: np.ndarray
    routine_extra_units: np.ndarray
    day: np.ndarray
    visits: np.ndarray
    history_taste: np.ndarray
    category_share: np.ndarray
    exposure: np.ndarray
    click_rate: np.ndarray
    purchase_rate: np.ndarray
    offered_discount: np.ndarray
    last_discount: np.ndarray
    last_click: np.ndarray
    last_purchase: np.ndarray
    spend: np.ndarray
    candidates: np.ndarray

    @property
    def n(self) -> int:
        return int(self.segment.shape[0])

    def assign(self, rows: np.ndarray, other: ShopperState) -> None:
        """Overwrite ``rows`` (index or mask) with the shoppers of ``other`` (same number of rows)."""
        for field in dataclasses.fields(self):
            getattr(self, field.name)[rows] = getattr(other, field.name)

    def take(self, rows: np.ndarray | slice) -> ShopperState:
        """A copy of the given rows."""
        if isinstance(rows, np.ndarray) and rows.ndim:  # an index array or mask: indexing makes the copy
            return ShopperState(**{f.name: getattr(self, f.name)[rows] for f in dataclasses.fields(self)})
        return ShopperState(**{f.name: getattr(self, f.name)[rows].copy() for f in dataclasses.fields(self)})

    def copy(self) -> ShopperState:
        return self.take(slice(None))


def sample_shoppers(
    rng: np.random.Generator, market: Market, n: int, n_categories: int, n_candidates: int
) -> ShopperState:
    """Draw ``n`` new shoppers (no history yet) from the market's segment mixture.

    Price sensitivity β is log-normal around the segment mean; the reference coefficients η⁺, η⁻ (log-normal) and
    the initial reference price ρ₀ (normal, clipped to [0.05, 2]) are correlated with it through
    ``trait_correlation`` r: a shopper with a high β reacts more to gains and losses and expects lower prices.
    Each category starts with a stock drawn uniformly from [0, 1) units. The mean interval between visits is
    1 + (m_g − 1)·LogNormal (mean 1, log sd ``visit_interval_sd``), drawn after everything else and only where some
    segment has a spread, so markets without one draw exactly what they did before the interval existed. The
    routine-line chance π_r has log-odds normal around the segment's (sd ``routine_purchase_sd``), drawn last in the
    same way: some households fill big baskets, others small ones. Its normal has correlation
    ``routine_interval_correlation`` κ with the interval's (where the interval has a spread): with κ > 0 the
    households that come often fill smaller baskets, as in grocery logs.
    """
    seg = market.segments
    segment = rng.choice(seg.weight.shape[0], size=n, p=seg.weight)
    d = seg.centroid.shape[1]
    noise = rng.standard_normal((n, d + 6))
    taste = seg.centroid[segment] + seg.taste_sd[segment, None] * noise[:, :d] / np.sqrt(d)
    taste /= np.maximum(np.linalg.norm(taste, axis=1, keepdims=True), 1e-12)
    beta_sd = seg.price_sensitivity_sd[segment]
    z_beta = noise[:, d]
    price_sensitivity = seg.price_sensitivity[segment] * np.exp(beta_sd * z_beta - 0.5 * beta_sd**2)
    promo_affinity = seg.promo_affinity[segment] + seg.promo_affinity_sd[segment] * noise[:, d + 1]
    engagement = np.clip(seg.engagement0[segment] + seg.engagement_sd[segment] * noise[:, d + 2], 0.0, 1.0)
    r = seg.trait_correlation[segment]
    residual = np.sqrt(1.0 - r**2)
    eta_sd = seg.reference_coef_sd[segment]

    def correlated(column: int, sign: float = 1.0) -> np.ndarray:
        return sign * r * z_beta + residual * noise[:, column]

    gain = seg.gain_coef[segment] * np.exp(eta_sd * correlated(d + 3) - 0.5 * eta_sd**2)
    loss = seg.loss_coef[segment] * np.exp(eta_sd * correlated(d + 4) - 0.5 * eta_sd**2)
    rho0 = np.clip(seg.reference_price0[segment] + seg.reference_price_sd[segment] * correlated(d + 5, -1.0), 0.05, 2.0)
    income, cap = seg.budget_income[segment], seg.budget_cap[segment]
    wallet = np.minimum(cap, income * (1.0 + 4.0 * rng.random(n)))
    inventory = rng.random((n, n_categories))
    inventory *= 2.0 * seg.initial_stock[segment][:, None]  # uniform on [0, 2·x]; the default x = ½ multiplies by 1
    interval = seg.visit_interval[segment].copy()
    interval_sd = seg.visit_interval_sd[segment]
    z_interval = None
    if interval_sd.any():
        z_interval = rng.standard_normal(n)
        scale = np.exp(interval_sd * z_interval - 0.5 * interval_sd**2)
        interval = 1.0 + (interval - 1.0) * scale
    routine = seg.routine_purchase[segment].copy()
    routine_sd = seg.routine_purchase_sd[segment]
    if routine_sd.any():
        spread = routine_sd * rng.standard_normal(n)
        # κ only where the interval has a spread to correlate with
        kappa = np.where(interval_sd > 0, seg.routine_interval_correlation[segment], 0.0)
        if z_interval is not None and kappa.any():
            spread = routine_sd * kappa * z_interval + np.sqrt(1.0 - kappa**2) * spread
        with np.errstate(divide="ignore"):  # π_r = 0 stays 0: no routine lines
            routine = 1.0 / (1.0 + np.exp(np.log1p(-routine) - np.log(routine) - spread))
    zeros = np.zeros(n)
    return ShopperState(
        segment=segment,
        taste=taste,
        price_sensitivity=price_sensitivity,
        promo_affinity=promo_affinity,
        gain_coef=gain,
        loss_coef=loss,
        reference_price=np.repeat(rho0[:, None], n_categories, axis=1),
        deal_wear=zeros.copy(),
        inventory=inventory,
        consumption_rate=seg.consumption_rate[segment].copy(),
        owned=np.full((n, OWNED_MEMORY), -1, dtype=np.int64),
        fatigue=np.zeros((n, n_categories)),
        engagement=engagement,
        wallet=wallet,
        budget_income=income.copy(),
        budget_cap=cap.copy(),
        visit_interval=interval,
        first_visit_churn=seg.first_visit_churn[segment].copy(),
        topup_chance=seg.topup_chance[segment].copy(),
        topup_interval=seg.topup_interval[segment].copy(),
        routine_purchase=routine,
        routine_extra_units=seg.routine_extra_units[segment].copy(),
        day=np.zeros(n, dtype=np.int64),
        visits=np.zeros(n, dtype=np.int64),
        history_taste=np.zeros((n, d)),
        category_share=np.full((n, n_categories), 1.0 / n_categories),
        exposure=np.zeros((n, n_categories)),
        click_rate=zeros.copy(),
        purchase_rate=zeros.copy(),
        offered_discount=zeros.copy(),
        last_discount=zeros.copy(),
        last_click=zeros.copy(),
        last_purchase=zeros.copy(),
        spend=zeros.copy(),
        candidates=np.zeros((n, n_candidates), dtype=np.int64),
    )


# ---------------------------------------------------------------------------------------------------- transition
@dataclass(frozen=True, eq=False)
class VisitRecord:
    """What the transition needs to know about a visit of N shoppers shown S slots.

    ``items`` [N, S] catalog ids shown (−1 = empty slot), ``paid_fraction`` [N, S], ``item`` [N] the clicked item
    (−1 = none), ``units`` [N] units bought (0 = no purchase), ``spent`` [N] money paid (currency). Optional:
    ``routine_units`` [N, C] units of the routine lines bought and ``routine_paid`` [N, C] their paid fractions
    (:func:`shopgym.routine.routine_lines`; None: no routine lines), and ``gap`` [N] days until the shopper's next
    visit (None: one day each).
    """

    items: np.ndarray
    paid_fraction: np.ndarray
    item: np.ndarray
    units: np.ndarray
    spent: np.ndarray
    routine_units: np.ndarray | None = None
    routine_paid: np.ndarray | None = None
    gap: np.ndarray | None = None


def reference_update(reference: np.ndarray, offered: np.ndarray, memory: float) -> np.ndarray:
    """ρ ← ζ·ρ + (1 − ζ)·x̄: the reference price after the shopper saw the mean paid fraction ``offered``."""
    return memory * reference + (1.0 - memory) * offered


def wear_update(wear: np.ndarray, deal_shown: np.ndarray, memory: float) -> np.ndarray:
    """w ← λ_w·w + (1 − λ_w)·1[a deal was shown]: how often deals were shown lately, in [0, 1]."""
    return memory * wear + (1.0 - memory) * deal_shown


def engagement_after(engagement: np.ndarray, coef: Coefficients, clicked: np.ndarray, bought: np.ndarray) -> np.ndarray:
    """Engagement after a visit: a purchase pleases, a click without purchase disappoints, an ignored visit bores.
    ``clicked`` and ``bought`` are 0/1 (float or bool) arrays broadcasting with ``engagement``."""
    clicked, bought = np.asarray(clicked, dtype=np.float64), np.asarray(bought, dtype=np.float64)
    after = (
        engagement
        + coef.engagement_gain_purchase * bought
        - coef.engagement_loss_disappoint * clicked * (1.0 - bought)
        - coef.engagement_loss_ignore * (1.0 - clicked)
    )
    return np.minimum(np.maximum(after, 0.0), 1.0)  # np.clip's Python wrapper costs more than the ufuncs at N = 1


def churn_hazard(engagement: np.ndarray, coef: Coefficients) -> np.ndarray:
    """Per-visit churn probability h = h_min + (h_max − h_min)·(1 − e)^p_h at engagement ``e``."""
    return coef.churn_min + (coef.churn_max - coef.churn_min) * (1.0 - engagement) ** coef.churn_power


def _slot_categories(state: ShopperState, catalog: Catalog, visit: VisitRecord, shown: np.ndarray) -> np.ndarray:
    """For each shown slot (``shown`` [N, S]), in order, its flat (shopper, category) index."""
    category = catalog.category.take(np.maximum(visit.items, 0))
    return (np.arange(state.n)[:, None] * catalog.n_categories + category)[shown]


def _update_prices_seen(
    state: ShopperState, coef: Coefficients, visit: VisitRecord, shown: np.ndarray, flat: np.ndarray, count: np.ndarray
) -> None:
    """Reference prices of the categories shown move toward the mean paid fraction offered in them; the others
    keep theirs. With ν = ``unexamined_price_weight`` < 1 a shown price that was not clicked weighs ν against the
    clicked (examined) one: a category's target is the ν-weighted mean of its shown prices, and its step is scaled
    by ν unless the clicked item is in it (docs/model.md §5). ``shown`` [N, S] marks the shown slots, ``flat`` is
    :func:`_slot_categories` of them and ``count`` [N, C] the number shown per category."""
    rho, nu = state.reference_price, coef.unexamined_price_weight
    size, shape = rho.size, rho.shape
    if nu == 1.0:  # every shown price counts fully
        offered = np.bincount(flat, weights=visit.paid_fraction[shown], minlength=size).reshape(shape)
        state.reference_price = np.where(
            count > 0, reference_update(rho, offered / np.maximum(count, 1), coef.reference_memory), rho
        )
        return
    weight = np.where(visit.items == visit.item[:, None], 1.0, nu)[shown]
    total = np.bincount(flat, weights=weight, minlength=size).reshape(shape)
    offered = np.bincount(flat, weights=weight * visit.paid_fraction[shown], minlength=size).reshape(shape)
    step = np.zeros(size)
    np.maximum.at(step, flat, weight)
    seen = total > 0
    full = reference_update(rho, offered / np.where(seen, total, 1.0), coef.reference_memory)
    state.reference_price = np.where(seen, rho + step.reshape(shape) * (full - rho), rho)


def transition(state: ShopperState, catalog: Catalog, coef: Coefficients, visit: VisitRecord) -> np.ndarray:
    """Move every shopper's state after a visit, in place, in the documented order (docs/model.md §5), and
    return the churn hazard [N] of the next moment (the caller draws the churn)."""
    shown = visit.items >= 0
    n_shown = shown.sum(axis=1)
    bought = (visit.units > 0).astype(np.float64)
    clicks = (visit.item >= 0).astype(np.float64)

    # wallet: pay, then top up for the days until the next visit (routine lines come from the household budget)
    income = state.budget_income if visit.gap is None else state.budget_income * visit.gap
    state.wallet = np.minimum(state.budget_cap, state.wallet - visit.spent + income)

    # reference prices per category, and how often deals were shown
    flat = _slot_categories(state, catalog, visit, shown)
    count = np.bincount(flat, minlength=state.reference_price.size).reshape(state.reference_price.shape)
    _update_prices_seen(state, coef, visit, shown, flat, count)
    if visit.routine_units is not None:  # a routine line's price was examined: it moves its category's reference
        lined = visit.routine_units > 0
        state.reference_price = np.where(
            lined, reference_update(state.reference_price, visit.routine_paid, coef.reference_memory),
            state.reference_price,
        )  # fmt: skip
    deal_shown = (shown & (visit.paid_fraction < 1.0)).any(axis=1)
    state.deal_wear = wear_update(state.deal_wear, deal_shown, coef.wearout_memory)

    # stock: what was bought goes into the pantry, then a share of every category's stock is used up (flexible
    # consumption: a full pantry is used faster, so a lower price can raise demand for good, not only pull it forward)
    buyers = np.flatnonzero(bought)
    bought_category = catalog.category.take(np.maximum(visit.item, 0))
    state.inventory[buyers, bought_category[buyers]] += visit.units[buyers]
    if visit.routine_units is not None:
        state.inventory += visit.routine_units
    if visit.gap is None:
        state.inventory *= (1.0 - state.consumption_rate)[:, None]
    else:
        state.inventory *= ((1.0 - state.consumption_rate) ** visit.gap)[:, None]

    # exposure of categories: fatigue (hidden, scenario decay) and the platform's exposure log
    state.fatigue *= coef.fatigue_decay
    state.fatigue += coef.fatigue_per_exposure * count
    state.exposure *= HISTORY_MEMORY
    state.exposure += (1 - HISTORY_MEMORY) * count / np.maximum(n_shown, 1)[:, None]

    state.engagement = engagement_after(state.engagement, coef, clicks, bought)
    hazard = churn_hazard(state.engagement, coef)
    if state.first_visit_churn.any():  # trial shoppers leave after their first visit (only where a segment has them)
        first = state.visits == 0
        hazard = np.where(first, 1.0 - (1.0 - hazard) * (1.0 - state.first_visit_churn), hazard)

    # taste drifts toward what was bought; the platform's history follows clicks and purchases
    if buyers.size:
        state.owned[buyers, 1:] = state.owned[buyers, :-1]
        state.owned[buyers, 0] = visit.item[buyers]
        bought_item = visit.item[buyers]
        taste = state.taste[buyers]
        taste += coef.taste_drift * (catalog.embedding.take(bought_item, axis=0) - taste)
        taste /= np.maximum(np.linalg.norm(taste, axis=1, keepdims=True), 1e-12)
        state.taste[buyers] = taste
        share = state.category_share[buyers] * HISTORY_MEMORY
        share[np.arange(buyers.size), bought_category[buyers]] += 1 - HISTORY_MEMORY
        state.category_share[buyers] = share
    clickers = np.flatnonzero(clicks)
    if clickers.size:
        weight = ((1 - HISTORY_MEMORY) * (1.0 + bought[clickers]) / 2)[:, None]
        history = state.history_taste[clickers]
        history += weight * (catalog.embedding.take(visit.item[clickers], axis=0) - history)
        state.history_taste[clickers] = history

    offered_x = np.where(shown, visit.paid_fraction, 0.0).sum(axis=1) / np.maximum(n_shown, 1)
    discount = np.where(n_shown > 0, np.maximum(1.0 - offered_x, 0.0), 0.0)  # a price above list is no discount
    m = HISTORY_MEMORY
    state.click_rate = m * state.click_rate + (1 - m) * clicks
    state.purchase_rate = m * state.purchase_rate + (1 - m) * bought
    state.offered_discount = m * state.offered_discount + (1 - m) * discount
    state.spend = m * state.spend + (1 - m) * visit.spent
    state.last_discount, state.last_click, state.last_purchase = discount, clicks, bought
    state.visits += 1
    state.day += 1 if visit.gap is None else visit.gap
    return hazard
