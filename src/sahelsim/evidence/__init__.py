"""What the data say: indicators, the dated timeline, the actor map."""
