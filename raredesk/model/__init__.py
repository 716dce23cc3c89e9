"""RareDesk model layer."""
