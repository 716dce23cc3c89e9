"""RareDesk io layer."""
