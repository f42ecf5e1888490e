"""Every write of reporting: importing facts and recomputing indicators."""
