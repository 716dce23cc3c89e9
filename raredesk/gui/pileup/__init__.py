"""Read evidence views: pileup (reads and coverage per sample), coverage QC, snapshots.

Modules
-------
``data``           Qt-free requests, worker functions and reader caches.
``layout``         Qt-free numpy layout: rows, sorting, grouping, colours, insertion expansion.
``items``          Qt graphics items that draw whole arrays of rectangles per style.
``view``           :class:`~raredesk.gui.pileup.view.PileupView` and the *Reads* tab panel.
``coverage_view``  :class:`~raredesk.gui.pileup.coverage_view.CoverageView` (depth and coverage QC).
``snapshot``       Fixed-size PNG of the pileup at a variant (offscreen).
``commands``       ``raredesk snapshot`` (imports no Qt until it runs).

This ``__init__`` imports nothing on purpose: the CLI imports ``commands`` to
register subcommands, and the core must load without Qt.
"""
