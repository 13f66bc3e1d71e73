"""One module per report section; each returns the section's HTML (figures go to a
:class:`~sahelsim.viz.figures.FigureSet`)."""
