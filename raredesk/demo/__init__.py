"""Seeded synthetic demo data: a small, self-consistent rare-disease trio case.

Everything is simulated here (sequence, gene models, reads, frequencies and
annotations); nothing is copied from real data. See
:func:`raredesk.demo.generator.make_demo_case`.
"""

from raredesk.demo.generator import DEFAULT_SEED, DemoFiles, make_demo_case

__all__ = ["DEFAULT_SEED", "DemoFiles", "make_demo_case"]
