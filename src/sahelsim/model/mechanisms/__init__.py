"""The mechanisms of the model, one module each.

Each module has a compiled ``member(key, t, cs, ks, fl, fk, gc, p, D, G)`` that advances one
ensemble member by one month in place: ``cs``/``ks`` are its cell and country state,
``fl``/``fk`` this month's flows, ``gc`` its growth counter, ``p`` its parameter vector, ``D``
this month's drivers (schedule, flags, levers) and ``G`` the static geography (see
:mod:`sahelsim.model.layout`). The step order is :data:`sahelsim.model.engine.ORDER`. The
docstring of each module names the part of the article it comes from (paraphrased) and its
parameters with units.
"""
