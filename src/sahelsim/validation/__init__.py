"""Validation: the pattern scorecard (pattern-oriented modelling, Grimm et al. 2005).

:func:`sahelsim.validation.run.run_validation` runs the shipped posterior over the history and
scores it against the patterns of ``resources/patterns.toml``; measure functions live in
:mod:`sahelsim.validation.measures`.
"""
