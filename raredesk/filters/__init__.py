"""RareDesk filters layer."""
