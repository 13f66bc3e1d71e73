"""The PRIO-GRID study grid: cells, countries, population, adjacency."""
