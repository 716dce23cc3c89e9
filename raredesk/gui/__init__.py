"""RareDesk gui layer."""
