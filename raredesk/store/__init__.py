"""RareDesk store layer."""
