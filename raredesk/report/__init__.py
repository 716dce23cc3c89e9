"""RareDesk report layer."""
