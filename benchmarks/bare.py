"""The HTTP baseline: a bare Flask app with one route answering {"status": "ok"}."""

from __future__ import annotations

from flask import Flask

app = Flask(__name__)


@app.get("/")
def ok() -> dict[str, str]:
    return {"status": "ok"}
