"""The Central Sahel conflict model: a vectorised monthly simulation of an ensemble.

State arrays carry the ensemble as the leading axis, shape ``(members, cells)``; one pure
:func:`~sahelsim.model.engine.step` advances every member one month and one driver,
:func:`~sahelsim.model.engine.simulate`, owns the time loop, the schedule of dated events and
levers, what is recorded, and the seeds. Each mechanism lives in its own module under
:mod:`sahelsim.model.mechanisms` with the article section it comes from.
"""
