"""RareDesk filters layer.

The filter language (``docs/filter-language.md``): text -> tokens
(:mod:`~raredesk.filters.lexer`) -> tree (:mod:`~raredesk.filters.parser`,
:mod:`~raredesk.filters.nodes`) -> parameterised SQL over whitelisted columns
(:mod:`~raredesk.filters.compiler`, :mod:`~raredesk.filters.fields`), with
inheritance modes from the pedigree (:mod:`~raredesk.filters.inheritance`),
gene panels (:mod:`~raredesk.filters.panels`) and presets
(:mod:`~raredesk.filters.presets`). Nothing here imports Qt.
"""

from raredesk.filters.compiler import CompiledFilter, compile_filter, compile_for_case
from raredesk.filters.errors import FilterError
from raredesk.filters.inheritance import InheritanceSettings
from raredesk.filters.parser import parse
from raredesk.filters.presets import get_preset, list_presets

__all__ = ["CompiledFilter", "FilterError", "InheritanceSettings", "compile_filter", "compile_for_case", "get_preset",
           "list_presets", "parse"]
