"""`/transactions`: routes over the ledger services (filled in when they land)."""

from __future__ import annotations

from flask import Blueprint

blueprint = Blueprint("transactions", __name__, url_prefix="/transactions")
