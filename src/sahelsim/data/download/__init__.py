"""Real HTTP download code for every source."""
