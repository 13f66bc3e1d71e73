"""The calibrated posterior: weighted parameter particles, shipped as package data
(``sahelsim/resources/posterior.json``) and drawn from, one row per ensemble member.

Written by :mod:`sahelsim.inference.calibrate`; read by scenario runs, claims and the report.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sahelsim.core.atomic import write_text_atomic
from sahelsim.core.errors import SahelsimError

POSTERIOR_FILE = "posterior.json"
POSTERIOR_VERSION = 1


@dataclass
class Posterior:
    names: tuple[str, ...]
    particles: np.ndarray  # (N, p)
    weights: np.ndarray  # (N,) sum to 1
    meta: dict[str, Any] = field(default_factory=dict)

    def frame(self) -> pd.DataFrame:
        df = pd.DataFrame(self.particles, columns=list(self.names))
        df["weight"] = self.weights
        return df

    def summary(self) -> pd.DataFrame:
        """Weighted mean, median and 50 % / 90 % intervals per parameter."""
        rows = []
        for j, name in enumerate(self.names):
            x = self.particles[:, j]
            o = np.argsort(x)
            cw = np.cumsum(self.weights[o])
            q = {f"q{int(p * 100):02d}": float(x[o][np.searchsorted(cw, p)]) for p in
                 (0.05, 0.25, 0.5, 0.75, 0.95)}  # fmt: skip
            rows.append({"parameter": name, "mean": float(np.sum(self.weights * x)), **q})
        return pd.DataFrame(rows)

    def sample_rows(self, members: np.ndarray, seed: int) -> np.ndarray:
        """Particle index for each member, drawn by weight from ``SeedSequence(seed, (m,))``
        so a member's parameters do not depend on the ensemble split."""
        cw = np.cumsum(self.weights)
        cw /= cw[-1]
        u = np.array([np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=(int(m), 7)))
                      .random() for m in np.asarray(members)])  # fmt: skip
        return np.minimum(np.searchsorted(cw, u), len(cw) - 1)

    def to_json(self) -> dict[str, Any]:
        return {
            "version": POSTERIOR_VERSION,
            "names": list(self.names),
            "particles": self.particles.tolist(),
            "weights": self.weights.tolist(),
            "meta": self.meta,
        }

    @classmethod
    def from_json(cls, doc: dict[str, Any], source: str = "") -> Posterior:
        try:
            names = tuple(doc["names"])
            parts = np.asarray(doc["particles"], dtype=float)
            w = np.asarray(doc["weights"], dtype=float)
        except (KeyError, TypeError, ValueError) as exc:
            raise SahelsimError(f"{source}: not a sahelsim posterior ({exc})") from exc
        if parts.shape != (w.size, len(names)) or not np.all(np.isfinite(parts)):
            raise SahelsimError(f"{source}: posterior arrays have inconsistent shapes")
        return cls(names, parts, w / w.sum(), dict(doc.get("meta", {})))

    def save(self, path: Path) -> Path:
        """Write the posterior atomically (a failed write keeps the previous file)."""
        return write_text_atomic(Path(path), json.dumps(self.to_json(), indent=1))


def installed_posterior_path() -> Path:
    """Where the package's shipped posterior lives (``sahelsim/resources/posterior.json``)."""
    return Path(str(resources.files("sahelsim.resources") / POSTERIOR_FILE))


#: Environment variable naming a posterior file that replaces the shipped one (for example a
#: hold-out calibration); the shipped posterior is used when it is unset.
POSTERIOR_ENV = "SAHELSIM_POSTERIOR"


def posterior_in_use() -> Path | None:
    """The posterior file runs draw their parameters from when none is given:
    ``$SAHELSIM_POSTERIOR``, else the shipped one (None: none ships, the prior). A missing
    file named by the variable is an error, not a silent fallback."""
    env = os.environ.get(POSTERIOR_ENV)
    if env:
        if not Path(env).is_file():
            raise FileNotFoundError(f"${POSTERIOR_ENV} names {env}, which does not exist")
        return Path(env)
    shipped = installed_posterior_path()
    return shipped if shipped.is_file() else None


def load_posterior(path: str | Path | None = None) -> Posterior | None:
    """The posterior of ``path``, else of :func:`posterior_in_use` (``$SAHELSIM_POSTERIOR``,
    else the shipped one); None if none ships yet."""
    p = Path(path) if path is not None else posterior_in_use()
    if p is None:
        return None
    return Posterior.from_json(json.loads(p.read_text()), str(p))
