"""The model's space: PRIO-GRID cells with country, population, urban cores and adjacency.

Built from the study grid by :func:`sahelsim.scenarios.setup.space_from_grid` or, for tests and
examples, as a small synthetic three-country grid (:meth:`Space.synthetic`). Arrays only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from sahelsim.core.canon import gid_centroid, gid_from_row_col
from sahelsim.model.layout import CORE, N_GEO, Geo, Geography


@dataclass(frozen=True)
class Space:
    gid: np.ndarray  # (C,) priogrid_gid
    lat: np.ndarray
    lon: np.ndarray
    country: np.ndarray  # (C,) index into ``countries``; -1 = none
    countries: tuple[str, ...]  # core three first, then neighbours present
    core: np.ndarray  # (C,) bool
    area_km2: np.ndarray
    pop0: np.ndarray  # (C,) people at the start month
    growth: np.ndarray  # (C,) monthly population growth rate (1/month)
    urban: np.ndarray  # (C,) bool: capital or large town
    capital: np.ndarray  # (K,) cell index of each country's capital (-1 if none)
    adj: sp.csr_matrix  # (C, C) 8-neighbour adjacency, 0/1

    @property
    def n_cells(self) -> int:
        return int(self.gid.shape[0])

    @property
    def n_countries(self) -> int:
        return len(self.countries)

    def country_onehot(self) -> np.ndarray:
        """(C, K) 0/1 matrix mapping cells to countries (rows of stateless cells are zero)."""
        m = np.zeros((self.n_cells, self.n_countries))
        ok = self.country >= 0
        m[np.nonzero(ok)[0], self.country[ok]] = 1.0
        return m

    def remoteness(self) -> np.ndarray:
        """Each cell's distance from its country's capital (degrees), divided by the largest in
        that country: 0 at the capital, 1 in the remotest cell; 0 outside a country with one."""
        remote = np.zeros(self.n_cells)
        for k in range(self.n_countries):
            idx = np.nonzero(self.country == k)[0]
            if idx.size and self.capital[k] >= 0:
                cap = self.capital[k]
                d = np.hypot(self.lat[idx] - self.lat[cap], self.lon[idx] - self.lon[cap])
                remote[idx] = d / max(d.max(), 1e-9)
        return remote

    def core_country_index(self) -> np.ndarray:
        return np.array([self.countries.index(c) for c in CORE])

    def kernel_arrays(self) -> Geography:
        """Static geography for the compiled engine (:class:`~sahelsim.model.layout.Geography`):
        rows ``Geo`` (N_GEO, C), country, capital, neighbour CSR, country and urban cell lists."""
        C, K = self.n_cells, self.n_countries
        geo = np.zeros((N_GEO, C))
        geo[Geo.POP0] = self.pop0
        geo[Geo.AREA] = self.area_km2
        geo[Geo.GROWTH] = self.growth
        geo[Geo.URBAN] = self.urban
        geo[Geo.ATTRACT] = np.sqrt(self.pop0 / max(float(self.pop0.mean()), 1.0))
        geo[Geo.LAT] = self.lat
        geo[Geo.LON] = self.lon
        adj = sp.csr_matrix(self.adj)
        adj.sort_indices()
        cptr, cidx = _lists(self.country, K, np.ones(C, dtype=bool))
        uptr, uidx = _lists(self.country, K, self.urban)
        return Geography(
            geo,
            self.country.astype(np.int64),
            self.capital.astype(np.int64),
            adj.indptr.astype(np.int64),
            adj.indices.astype(np.int64),
            cptr,
            cidx,
            uptr,
            uidx,
        )

    # -- constructors (the study grid: :func:`sahelsim.scenarios.setup.space_from_grid`) ---------
    @classmethod
    def synthetic(cls, rows: int = 12, cols: int = 18, seed: int = 0) -> Space:
        """A small three-country grid (vertical stripes MLI | BFA | NER) with one ring of
        stateless cells, lognormal population and a capital in each stripe. For tests."""
        rng = np.random.default_rng(seed)
        r, c = np.meshgrid(np.arange(rows + 2), np.arange(cols + 2), indexing="ij")
        r = r.ravel() + 200
        c = c.ravel() + 340
        inner = (r > 200) & (r < 201 + rows) & (c > 340) & (c < 341 + cols)
        stripe = np.clip((c - 341) * 3 // cols, 0, 2)
        country = np.where(inner, stripe, -1)
        gid = gid_from_row_col(r, c)
        lat, lon = gid_centroid(gid)
        pop0 = np.where(inner, rng.lognormal(10.5, 1.0, r.size), rng.lognormal(9.0, 0.8, r.size))
        capital = np.full(3, -1)
        urban = np.zeros(r.size, dtype=bool)
        for k in range(3):
            idx = np.nonzero(country == k)[0]
            cap = idx[len(idx) // 2]
            capital[k] = cap
            pop0[cap] = 1.5e6
            urban[cap] = True
            town = idx[len(idx) // 5]
            pop0[town] = 2.5e5
            urban[town] = True
        adj = _block_adjacency(rows + 2, cols + 2)
        return cls(
            gid=gid,
            lat=lat,
            lon=lon,
            country=country,
            countries=CORE,
            core=inner,
            area_km2=np.full(r.size, 3000.0),
            pop0=pop0,
            growth=np.full(r.size, (1.028) ** (1 / 12) - 1),
            urban=urban,
            capital=capital,
            adj=adj,
        )


def _lists(country: np.ndarray, K: int, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """CSR-style lists of the cells of each country that satisfy ``mask``."""
    ptr = np.zeros(K + 1, dtype=np.int64)
    idx = []
    for k in range(K):
        cells = np.nonzero((country == k) & mask)[0]
        idx.append(cells)
        ptr[k + 1] = ptr[k] + cells.size
    return ptr, (np.concatenate(idx) if idx else np.zeros(0)).astype(np.int64)


def _block_adjacency(n_rows: int, n_cols: int) -> sp.csr_matrix:
    """8-neighbour 0/1 adjacency of a full ``n_rows`` x ``n_cols`` block of cells numbered row by
    row (the synthetic grid)."""
    r, c = np.divmod(np.arange(n_rows * n_cols), n_cols)
    rows, cols = [], []
    for dr in (-1, 0, 1):
        for dc in (-1, 0, 1):
            if dr == dc == 0:
                continue
            ok = (r + dr >= 0) & (r + dr < n_rows) & (c + dc >= 0) & (c + dc < n_cols)
            src = np.nonzero(ok)[0]
            rows.append(src)
            cols.append(src + dr * n_cols + dc)
    i, j = np.concatenate(rows), np.concatenate(cols)
    n = n_rows * n_cols
    return sp.csr_matrix((np.ones(i.size), (i, j)), shape=(n, n))
