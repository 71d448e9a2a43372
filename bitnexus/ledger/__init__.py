"""Ledger: the hash-chained double-entry ledger and the transaction requests it posts."""
