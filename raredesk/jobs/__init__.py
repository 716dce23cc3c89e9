"""RareDesk jobs layer."""
