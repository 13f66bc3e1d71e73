"""The mechanisms of the model, one module each.

Each module has a compiled ``member(key, t, state, flows, geog, drivers, p)`` that advances one
ensemble member by one month in place. Its arguments are named groups of arrays
(:mod:`sahelsim.model.layout`): ``state`` (``MemberState``: cells, ctry, growth), ``flows``
(``Flows``: cells, ctry; this month's), ``geog`` (``Geography``: the static geography),
``drivers`` (``MonthDrivers``: drv, flags, lev; this month's) and ``p`` the parameter vector
(indexed by ``layout.P``). Each module also declares ``SECTION`` (its article section) and
``WRITES`` (the fields it writes, checked by the conformance battery); its docstring names the
part of the article it comes from (paraphrased) and its parameters with units. The step order
is :data:`sahelsim.model.registry.REGISTRY`.
"""
