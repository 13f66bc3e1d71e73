"""The model's space: PRIO-GRID cells with country, population, urban cores and adjacency.

Built from the study grid (:func:`sahelsim.grid.build_grid`) or, for tests and examples, as a
small synthetic three-country grid (:meth:`Space.synthetic`). Arrays only; no pandas in the
hot path.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

CORE = ("MLI", "BFA", "NER")


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

    def core_country_index(self) -> np.ndarray:
        return np.array([self.countries.index(c) for c in CORE])

    def kernel_arrays(self) -> tuple:
        """Static geography for the compiled engine: (geo (N_GEO, C), country, capital,
        neighbour CSR (ptr, idx), country cell lists (ptr, idx), urban cell lists (ptr, idx))."""
        from sahelsim.model import layout as L

        C, K = self.n_cells, self.n_countries
        geo = np.zeros((L.N_GEO, C))
        geo[L.G_POP0] = self.pop0
        geo[L.G_AREA] = self.area_km2
        geo[L.G_GROWTH] = self.growth
        geo[L.G_URBAN] = self.urban
        geo[L.G_ATTRACT] = np.sqrt(self.pop0 / max(float(self.pop0.mean()), 1.0))
        adj = sp.csr_matrix(self.adj)
        adj.sort_indices()
        cptr, cidx = _lists(self.country, K, np.ones(C, dtype=bool))
        uptr, uidx = _lists(self.country, K, self.urban)
        return (
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

    # -- constructors --------------------------------------------------------------------
    @classmethod
    def from_grid(cls, grid, start_year: float = 2012.0) -> Space:
        """From a :class:`sahelsim.grid.Grid`; population grown exponentially from the
        WorldPop 2000 and 2020 values to ``start_year`` (people)."""
        cells = grid.cells
        iso = cells["iso3"].astype(object).where(cells["iso3"].notna(), None).to_numpy()
        others = sorted({c for c in iso if c is not None and c not in CORE})
        countries = CORE + tuple(others)
        index = {c: i for i, c in enumerate(countries)}
        country = np.array([index.get(c, -1) if c is not None else -1 for c in iso])
        p00 = cells["pop_2000"].to_numpy(dtype=float)
        p20 = cells["pop_2020"].to_numpy(dtype=float)
        annual = np.where(
            (p00 > 0) & (p20 > 0), (np.maximum(p20, 1) / np.maximum(p00, 1)) ** (1 / 20) - 1, 0.025
        )
        annual = np.clip(annual, -0.02, 0.06)
        pop0 = np.where(p20 > 0, p20 * (1 + annual) ** (start_year - 2020), p00)
        growth = (1 + annual) ** (1 / 12) - 1
        urban = cells["urban_core"].to_numpy(dtype=bool)
        capital = _capitals(countries, country, cells["capital_distance_km"].to_numpy(dtype=float))
        adj = sp.csr_matrix(grid.adjacency, dtype=float)
        return cls(
            gid=cells["priogrid_gid"].to_numpy(dtype=np.int64),
            lat=cells["lat"].to_numpy(dtype=float),
            lon=cells["lon"].to_numpy(dtype=float),
            country=country,
            countries=countries,
            core=cells["core"].to_numpy(dtype=bool),
            area_km2=cells["area_km2"].to_numpy(dtype=float),
            pop0=np.maximum(pop0, 0.0),
            growth=growth,
            urban=urban,
            capital=capital,
            adj=adj,
        )

    @classmethod
    def synthetic(cls, rows: int = 12, cols: int = 18, seed: int = 0) -> Space:
        """A small three-country grid (vertical stripes MLI | BFA | NER) with one ring of
        stateless cells, lognormal population and a capital in each stripe. For tests."""
        from sahelsim.core.canon import gid_centroid, gid_from_row_col
        from sahelsim.grid.build import adjacency_from_row_col

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
        adj = sp.csr_matrix(adjacency_from_row_col(r, c), dtype=float)
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


def _capitals(countries: tuple[str, ...], country: np.ndarray, dist: np.ndarray) -> np.ndarray:
    cap = np.full(len(countries), -1)
    for k in range(len(countries)):
        idx = np.nonzero((country == k) & np.isfinite(dist))[0]
        if idx.size:
            cap[k] = idx[np.argmin(dist[idx])]
    return cap
