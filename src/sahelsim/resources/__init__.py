"""Package resources (TOML tables, the shipped posterior, scenario files); no code."""
