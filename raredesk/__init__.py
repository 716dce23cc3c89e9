"""RareDesk: offline rare-disease variant review.

The packages under ``raredesk`` other than ``raredesk.gui`` never import Qt.
"""

__version__ = "0.1.0"
