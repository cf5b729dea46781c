r"""Real logged data, as tidy DataFrames with the package's column names (:mod:`causalrec_tutorial.columns`).

Two public data sets, both fetched once by ``python -m causalrec_tutorial.assets fetch`` (never at run time):

**Open Bandit Dataset** (small sample; ZOZOTOWN fashion e-commerce). Saito, Aihara, Matsutani & Narita (2021),
"Open Bandit Dataset and Pipeline: Towards Realistic and Reproducible Off-Policy Evaluation", NeurIPS Datasets and
Benchmarks 2021, arXiv:2008.07146 (CC BY 4.0). Two logging policies — ``random`` (uniform) and ``bts`` (Bernoulli
Thompson sampling) — ran on three campaigns (``all``: 80 items, ``men``: 34, ``women``: 46); each of the six logs
has 10,000 rows, one per (impression, slot). Each row says which item was shown in which of three slots, whether it
was clicked, and the logging policy's probability of showing that item in that slot. The raw files are renamed
thus:

==============================  ==============================================================================
raw column                      returned column
==============================  ==============================================================================
``timestamp``                   ``timestamp`` (:data:`~causalrec_tutorial.columns.TIMESTAMP`), naive UTC
``item_id``                     ``item_id`` (``ITEM``), 0 .. n_items-1 within the campaign
``position`` (1, 2, 3)          ``position`` (``POSITION``), **0-based** (0, 1, 2) like the simulated shop
``click``                       ``click`` (``CLICK``)
``propensity_score``            ``propensity`` (``PROPENSITY``): P(this item in this slot) under the policy
``user_feature_0..3``           unchanged (hashed categorical strings)
``user-item_affinity_<j>``      unchanged (float, one per item of the campaign)
item_context.csv                ``item_feature_0`` (float), ``item_feature_1..3`` (hashed strings), joined on
                                ``item_id``
(added)                         ``policy`` (``POLICY``) and ``campaign`` (``CAMPAIGN``)
==============================  ==============================================================================

The asset also holds ``prior_bts.yaml`` from the same sdist (``obp/policy/conf/``, Apache-2.0): the Beta prior
:math:`(\alpha_a, \beta_a)` per item of the Bernoulli Thompson-sampling policy that ZOZOTOWN ran in production,
which ``obp.policy.BernoulliTS(is_zozotown_prior=True, campaign=...)`` uses; :func:`load_open_bandit_prior` returns it
as ``item_id, alpha, beta`` (the index ``a`` is the action index of the Open Bandit Pipeline, the ``item_id`` here).

The data set has no user or session id. The item ids and the feature hashes of the ``random`` and ``bts`` copies
are **not** aligned (the same id or hash does not mean the same item), so compare the two policies within one
campaign only through quantities that do not need item identity (e.g. the policy value, the CTR).

**MovieLens 100K** (Harper & Konstan 2015, "The MovieLens Datasets: History and Context", ACM TiiS 5(4):19; GroupLens
research licence — do not redistribute), from RecBole's atomic files: 100,000 ratings (1–5) by 943 users of 1,682
movies. Returned as ratings ``user_id, item_id, rating, timestamp``; items ``item_id, title, year, genres`` (genres
joined by ``|``, e.g. ``Animation|Children's|Comedy``; the title has no year; ``year`` is nullable); users ``user_id,
age, gender, occupation, zip_code``.

Book: 02_the_data.ipynb, sec-real-data
"""

from __future__ import annotations

import csv
import dataclasses
import pathlib

import pandas as pd

from . import assets
from . import columns as C

__all__ = [
    "OBD_CAMPAIGNS",
    "OBD_POLICIES",
    "MovieLens",
    "load_movielens_100k",
    "load_open_bandit",
    "load_open_bandit_items",
    "load_open_bandit_prior",
]

OBD_POLICIES = ("random", "bts")
OBD_CAMPAIGNS = ("all", "men", "women")
OBD_CITATION = (
    "Saito, Aihara, Matsutani & Narita (2021), Open Bandit Dataset and Pipeline: Towards Realistic and "
    "Reproducible Off-Policy Evaluation, NeurIPS Datasets and Benchmarks 2021"
)
MOVIELENS_CITATION = "Harper & Konstan (2015), The MovieLens Datasets: History and Context, ACM TiiS 5(4):19"

_OBD_RENAME = {
    "timestamp": C.TIMESTAMP,
    "item_id": C.ITEM,
    "position": C.POSITION,
    "click": C.CLICK,
    "propensity_score": C.PROPENSITY,
}


def _check_obd(policy: str, campaign: str) -> None:
    if policy not in OBD_POLICIES:
        raise ValueError(f"policy must be one of {OBD_POLICIES}, got {policy!r}")
    if campaign not in OBD_CAMPAIGNS:
        raise ValueError(f"campaign must be one of {OBD_CAMPAIGNS}, got {campaign!r}")


def _obd_folder(policy: str, campaign: str) -> pathlib.Path:
    _check_obd(policy, campaign)
    return assets.locate("open_bandit") / policy / campaign


def load_open_bandit_items(policy: str = "random", campaign: str = "all") -> pd.DataFrame:
    """The item context of one Open Bandit log: ``item_id, item_feature_0..3`` (one row per item).

    Args:
        policy: ``"random"`` or ``"bts"``.
        campaign: ``"all"``, ``"men"`` or ``"women"``.

    Raises:
        ValueError: for an unknown policy or campaign (the message lists the valid names).
        causalrec_tutorial.assets.AssetError: if the data set is not fetched; the message names the command.

    Book: 02_the_data.ipynb, sec-open-bandit
    """
    folder = _obd_folder(policy, campaign)
    items = pd.read_csv(folder / "item_context.csv", index_col=0)
    return items.rename(columns={"item_id": C.ITEM}).sort_values(C.ITEM).reset_index(drop=True)


def load_open_bandit(policy: str = "random", campaign: str = "all") -> pd.DataFrame:
    """One log of the Open Bandit Dataset (10,000 rows), with the item context joined.

    Columns: ``timestamp, item_id, position`` (0-based slot), ``click, propensity, policy, campaign``, then the raw
    ``user_feature_*``, ``user-item_affinity_*`` and ``item_feature_*`` columns (see the module docstring). Rows are
    in the original (time) order. Cite Saito et al. (2021), "Open Bandit Dataset and Pipeline: Towards Realistic and
    Reproducible Off-Policy Evaluation", NeurIPS Datasets and Benchmarks 2021.

    Args:
        policy: the logging policy, ``"random"`` (uniform) or ``"bts"`` (Bernoulli Thompson sampling).
        campaign: ``"all"`` (80 items), ``"men"`` (34) or ``"women"`` (46).

    Returns:
        DataFrame with 10,000 rows.

    Raises:
        ValueError: for an unknown policy or campaign (the message lists the valid names).
        causalrec_tutorial.assets.AssetError: if the data set is not fetched; the message names the command
            ``python -m causalrec_tutorial.assets fetch open_bandit``.

    Book: 02_the_data.ipynb, sec-open-bandit
    """
    folder = _obd_folder(policy, campaign)
    log = pd.read_csv(folder / f"{campaign}.csv", index_col=0).rename(columns=_OBD_RENAME)
    log[C.TIMESTAMP] = pd.to_datetime(log[C.TIMESTAMP], utc=True).dt.tz_localize(None)
    log[C.POSITION] = log[C.POSITION].astype("int64") - 1  # raw slots are 1, 2, 3
    log[C.POLICY] = policy
    log[C.CAMPAIGN] = campaign
    items = load_open_bandit_items(policy, campaign)
    out = log.merge(items, on=C.ITEM, how="left", validate="many_to_one")
    first = [C.TIMESTAMP, C.ITEM, C.POSITION, C.CLICK, C.PROPENSITY, C.POLICY, C.CAMPAIGN]
    return out[first + [c for c in out.columns if c not in first]].reset_index(drop=True)


def load_open_bandit_prior(campaign: str = "all") -> pd.DataFrame:
    r"""The Beta prior of ZOZOTOWN's production Bernoulli Thompson-sampling policy, per item of a campaign.

    Read from ``prior_bts.yaml`` of the ``obp==0.5.7`` sdist (``obp/policy/conf/``; Apache-2.0, Saito et al. 2021),
    the prior that ``obp.policy.BernoulliTS(is_zozotown_prior=True, campaign=campaign)`` starts from. Item ``a``'s
    click probability is drawn from :math:`\text{Beta}(\alpha_a, \beta_a)` each round
    (:func:`causalrec_tutorial.evaluate.bernoulli_ts_action_dist`).

    Args:
        campaign: ``"all"`` (80 items), ``"men"`` (34) or ``"women"`` (46).

    Returns:
        DataFrame ``item_id, alpha, beta`` with one row per item, ``item_id`` = 0 .. n_items-1.

    Raises:
        ValueError: for an unknown campaign.
        causalrec_tutorial.assets.AssetError: if the data set is not fetched (or was fetched before the prior was
            part of it); the message names the command ``python -m causalrec_tutorial.assets fetch open_bandit``.

    Book: 06_evaluation.ipynb, sec-eval-obd
    """
    import yaml  # installed with jupyter-book (and the dev extra); imported here so the rest needs no YAML

    _check_obd("random", campaign)
    with open(assets.locate("open_bandit") / "prior_bts.yaml", encoding="utf-8") as handle:
        prior = yaml.safe_load(handle)[campaign]
    alpha, beta = (pd.array(prior[key], dtype="float64") for key in ("alpha", "beta"))
    if len(alpha) != len(beta):
        raise ValueError(f"prior_bts.yaml is malformed: {len(alpha)} alphas but {len(beta)} betas for {campaign!r}")
    return pd.DataFrame({C.ITEM: range(len(alpha)), "alpha": alpha, "beta": beta}).astype({C.ITEM: "int64"})


@dataclasses.dataclass(frozen=True)
class MovieLens:
    """MovieLens 100K: ratings, items and users.

    Attributes:
        ratings: ``user_id, item_id, rating`` (int 1–5), ``timestamp`` (naive UTC), sorted by time.
        items: ``item_id, title, year`` (nullable Int64), ``genres`` (``|``-joined).
        users: ``user_id, age, gender, occupation, zip_code``.

    Book: 02_the_data.ipynb, sec-movielens
    """

    ratings: pd.DataFrame
    items: pd.DataFrame
    users: pd.DataFrame


def _read_atomic(path: pathlib.Path) -> pd.DataFrame:
    """A RecBole atomic file: tab-separated, header ``name:type``; every column read as text."""
    df = pd.read_csv(path, sep="\t", dtype=str, quoting=csv.QUOTE_NONE, keep_default_na=False)
    df.columns = [c.split(":")[0] for c in df.columns]
    return df


def load_movielens_100k() -> MovieLens:
    """MovieLens 100K from the fetched asset: 100,000 ratings, 943 users, 1,682 movies.

    Cite Harper & Konstan (2015), "The MovieLens Datasets: History and Context", ACM TiiS 5(4):19. Academic use;
    the data may not be redistributed.

    Returns:
        :class:`MovieLens` with ``ratings``, ``items`` and ``users`` tables.

    Raises:
        causalrec_tutorial.assets.AssetError: if the data set is not fetched; the message names the command
            ``python -m causalrec_tutorial.assets fetch movielens_100k``.

    Book: 02_the_data.ipynb, sec-movielens
    """
    folder = assets.locate("movielens_100k")
    inter = _read_atomic(folder / "ml-100k.inter")
    ratings = pd.DataFrame(
        {
            C.USER: inter["user_id"].astype("int64"),
            C.ITEM: inter["item_id"].astype("int64"),
            C.RATING: inter["rating"].astype(float).astype("int64"),
            C.TIMESTAMP: pd.to_datetime(inter["timestamp"].astype(float).astype("int64"), unit="s"),
        }
    )
    ratings = ratings.sort_values([C.TIMESTAMP, C.USER, C.ITEM], kind="stable").reset_index(drop=True)
    raw_items = _read_atomic(folder / "ml-100k.item")
    items = pd.DataFrame(
        {
            C.ITEM: raw_items["item_id"].astype("int64"),
            C.TITLE: raw_items["movie_title"].str.strip(),
            C.YEAR: pd.to_numeric(raw_items["release_year"].replace("", None), errors="coerce").astype("Int64"),
            C.GENRES: raw_items["class"].str.split().str.join("|"),
        }
    ).sort_values(C.ITEM, ignore_index=True)
    raw_users = _read_atomic(folder / "ml-100k.user")
    users = pd.DataFrame(
        {
            C.USER: raw_users["user_id"].astype("int64"),
            C.AGE: raw_users["age"].astype("int64"),
            C.GENDER: raw_users["gender"],
            C.OCCUPATION: raw_users["occupation"],
            "zip_code": raw_users["zip_code"],
        }
    ).sort_values(C.USER, ignore_index=True)
    return MovieLens(ratings=ratings, items=items, users=users)
