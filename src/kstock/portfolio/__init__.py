"""Portfolios: holdings derived from a transaction ledger, valued at live prices."""
