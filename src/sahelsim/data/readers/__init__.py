"""One reader module per source (pvlib ``iotools`` style).

Every reader maps the source's columns to canonical names and returns a
:class:`~sahelsim.readers.base.ReadResult`: accepted rows, quarantined rows with reasons,
and metadata. For every file ``rows_read == accepted + quarantined``.
"""
