"""Import real KRX files: listings into ``instruments`` and daily prices into ``daily_bars``.

Both imports read and validate the whole file first (a broken file writes nothing and sets ``fatal``), reject
bad rows with a reason (never stopping the import; the full list goes to ``kstock-rejects-<file>.csv``), then
merge the valid rows in batches through a staging table, so importing the same file again changes nothing.
"""

from __future__ import annotations

from kstock.market.importers.common import ImportSummary, Reject
from kstock.market.importers.listing import import_listing
from kstock.market.importers.prices import import_prices

__all__ = ["ImportSummary", "Reject", "import_listing", "import_prices"]
