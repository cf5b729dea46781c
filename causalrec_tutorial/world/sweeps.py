"""Sweeps: one small experiment re-run over a grid of world parameters and seeds, as a tidy table.
Book: 02_the_data.ipynb, sec-shop-sweep; 04_causal_graphs.ipynb, sec-causal-sweep
Book: 05_recommendation_generation.ipynb, sec-gen-position-sweep; 06_evaluation.ipynb, sec-eval-overlap-sweep

A lesson drawn from one world is a setting of the simulator until it is shown as a function of the parameter that
drives it. :func:`sweep` builds one :class:`~causalrec_tutorial.world.ShopWorld` per (grid point, seed), calls
``experiment(world, rng)`` and stacks what it returns; :func:`summarize_sweep` gives the mean and a t interval
over seeds per grid point, and :func:`sign_changes` the grid intervals where a mean crosses a threshold (the
region where the conclusion flips).
"""

from __future__ import annotations

import dataclasses
import itertools
import zlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from .._checks import check_fraction, check_int, check_number
from .params import ShopParams
from .shop import ShopWorld

__all__ = ["sign_changes", "summarize_sweep", "sweep"]

# ShopWorld's own arguments that a grid may vary beside the ShopParams coefficients
_WORLD_ARGS = ("n_users", "n_items", "n_cold_items", "n_sessions", "n_late_sessions", "k", "n_unshown",
               "unshown_sampling")


def sweep(
    experiment: Callable[[ShopWorld, np.random.Generator], Mapping[str, float]],
    grid: Mapping[str, Sequence[Any]],
    seeds: Sequence[int],
    *,
    params: ShopParams | None = None,
    world: Mapping[str, Any] | None = None,
    progress: bool = False,
) -> pd.DataFrame:
    """Run ``experiment`` in one world per combination of the ``grid`` values and per seed.

    Args:
        experiment: ``experiment(world, rng) -> {metric: number}``; ``rng`` is seeded by (seed, grid point), so a row
            is reproducible on its own.
        grid: parameter name -> values; names are :class:`ShopParams` fields or ShopWorld sizes (``n_users``, ``k``,
            ...). Every combination is run (a full factorial).
        seeds: world seeds; each grid point is run once per seed (different worlds, not only different logs).
        params: the base coefficients the grid changes (default ``ShopParams()``).
        world: fixed ShopWorld arguments (sizes) for every run, e.g. ``{"n_users": 300, "n_sessions": 3000}``.
        progress: print one line per grid point.

    Returns:
        One row per (grid point, seed): the grid's columns, ``seed``, and the experiment's metrics.

    Raises:
        ValueError: for an unknown parameter name, an empty grid or seed list, or an experiment that does not return
            a mapping of finite numbers.
        TypeError: if ``experiment`` is not callable.
    """
    if not callable(experiment):
        raise TypeError(f"experiment must be a function (world, rng) -> dict, got {type(experiment).__name__}")
    if not isinstance(grid, Mapping) or not grid:
        raise ValueError("grid must be a non-empty mapping of parameter name -> values")
    fields = {f.name for f in dataclasses.fields(ShopParams)}
    unknown = [k for k in grid if k not in fields and k not in _WORLD_ARGS]
    if unknown:
        raise ValueError(f"grid has unknown parameter(s) {unknown}; use ShopParams fields or {list(_WORLD_ARGS)}")
    for name, values in grid.items():
        if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or len(values) == 0:
            raise ValueError(f"grid[{name!r}] must be a non-empty sequence of values, got {values!r}")
    seeds = [check_int("seeds[]", s, 0) for s in seeds]
    if not seeds:
        raise ValueError("seeds must hold at least one seed")
    base = ShopParams() if params is None else params
    if not isinstance(base, ShopParams):
        raise TypeError(f"params must be a ShopParams, got {type(base).__name__}")
    fixed = dict(world or {})
    bad = [k for k in fixed if k not in _WORLD_ARGS]
    if bad:
        raise ValueError(f"world has unknown ShopWorld argument(s) {bad}; allowed: {list(_WORLD_ARGS)}")
    names = list(grid)
    rows = []
    overlap = sorted(set(grid) & set(fixed))
    if overlap:
        raise ValueError(f"{overlap} are both in grid and in world=; give each parameter in one place")
    for point in itertools.product(*(grid[n] for n in names)):
        setting = dict(zip(names, point))
        p = dataclasses.replace(base, **{k: v for k, v in setting.items() if k in fields})
        sizes = {**fixed, **{k: v for k, v in setting.items() if k in _WORLD_ARGS}}
        for seed in seeds:
            w = ShopWorld(seed=seed, params=p, **sizes)
            # seeded by (seed, the grid point's values): the same row gives the same draws in any grid
            point_key = zlib.crc32(repr(sorted(setting.items())).encode("utf-8"))
            out = experiment(w, np.random.default_rng([seed, point_key]))
            if not isinstance(out, Mapping) or not out:
                raise ValueError(f"experiment must return a non-empty mapping of metric -> number, got {out!r}")
            values = {key: check_number(f"experiment()[{key!r}]", value, what="a metric of one run")
                      for key, value in out.items()}
            rows.append({**setting, "seed": seed, **values})
        if progress:
            print(f"sweep: {setting} done ({len(seeds)} seeds)", flush=True)
    return pd.DataFrame(rows)


def summarize_sweep(frame: pd.DataFrame, by: Sequence[str], metrics: Sequence[str] | None = None,
                    confidence: float = 0.95) -> pd.DataFrame:
    """Mean over seeds per grid point, with a t interval (``nan`` with one seed).

    Args:
        frame: the output of :func:`sweep`.
        by: the grid column (a name) or columns (a sequence of names) to group by.
        metrics: the metric columns (default: every column that is neither in ``by`` nor ``seed``).
        confidence: level of the interval.

    Returns:
        One row per grid point; per metric the columns ``<metric>``, ``<metric>_low``, ``<metric>_high``, and ``n``.
    """
    confidence = check_fraction("confidence", confidence, "the level of the interval, e.g. 0.95")
    if not isinstance(frame, pd.DataFrame) or frame.empty:
        raise ValueError("frame must be the non-empty table sweep() returns")
    by = [by] if isinstance(by, str) else list(by)  # one grid column may be named alone
    missing = [c for c in by if c not in frame.columns]
    if missing:
        raise ValueError(f"frame lacks the grid column(s) {missing}")
    metrics = [c for c in frame.columns if c not in by and c != "seed"] if metrics is None else list(metrics)
    out = []
    for key, g in frame.groupby(by, sort=True):
        row = dict(zip(by, key if isinstance(key, tuple) else (key,)))
        n = len(g)
        t = stats.t.ppf(0.5 + confidence / 2, n - 1) if n > 1 else np.nan
        for m in metrics:
            mean, sd = float(g[m].mean()), float(g[m].std(ddof=1)) if n > 1 else np.nan
            half = t * sd / np.sqrt(n) if n > 1 else np.nan
            row.update({m: mean, f"{m}_low": mean - half, f"{m}_high": mean + half})
        row["n"] = n
        out.append(row)
    return pd.DataFrame(out)


def sign_changes(summary: pd.DataFrame, x: str, y: str, threshold: float = 0.0) -> list[tuple[float, float]]:
    """The intervals of ``x`` (consecutive grid values) between which the mean ``y`` crosses ``threshold``.

    Args:
        summary: one row per value of ``x`` (e.g. :func:`summarize_sweep` grouped by ``x`` alone).
        x: the swept parameter.
        y: the metric, e.g. the difference "uplift list minus click list".
        threshold: the value at which the conclusion flips (0 for a difference).

    Returns:
        ``[(x_left, x_right), ...]``: the conclusion holds on one side of each interval and flips on the other;
        empty when it never flips over the grid. A grid point exactly on the threshold widens the interval around
        it to its neighbours.
    """
    if not isinstance(summary, pd.DataFrame) or x not in summary.columns or y not in summary.columns:
        raise ValueError(f"summary must be a DataFrame with columns {x!r} and {y!r}")
    s = summary.sort_values(x)
    if s[x].duplicated().any():
        raise ValueError(f"summary must have one row per value of {x!r}; group by {x!r} alone")
    side = np.sign(s[y].to_numpy(float) - threshold)
    xs = s[x].to_numpy(float)
    # a grid point exactly on the threshold belongs to the crossing around it: compare successive non-zero sides
    nonzero = np.flatnonzero(side != 0)
    return [(float(xs[a]), float(xs[b])) for a, b in zip(nonzero[:-1], nonzero[1:]) if side[a] * side[b] < 0]
