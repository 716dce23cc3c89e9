"""ACMG/AMP criteria catalogue and combining engine (Qt-free, pure functions)."""
