"""`/api/openapi.json`: the API's own description."""

from __future__ import annotations

from flask import Blueprint, Response

from web.openapi import document
from web.responses import json_response

blueprint = Blueprint("docs", __name__)


@blueprint.get("/api/openapi.json")
def openapi() -> Response:
    return json_response(document())
