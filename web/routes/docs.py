"""`/api/openapi.json`, the API's own description, and `/api/docs`, Swagger UI over it.

Swagger UI's files come from the swagger-ui-bundle package, served by this app: the
documentation works offline and loads nothing from a CDN.
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Response, current_app, render_template, send_from_directory
from swagger_ui_bundle import swagger_ui_path
from werkzeug.exceptions import NotFound

from web.openapi import document
from web.responses import json_response, produces

blueprint = Blueprint("docs", __name__)

ASSETS = frozenset(
    {
        "swagger-ui.css",
        "swagger-ui-bundle.js",
        "swagger-ui-standalone-preset.js",
        "favicon-32x32.png",
    }
)


@blueprint.get("/api/openapi.json")
def openapi() -> Response:
    return json_response(document(current_app.config["BITNEXUS_CURRENCIES"]))


@blueprint.get("/api/docs")
@produces("text/html")
def ui() -> str:
    return render_template("api-docs.html")


@blueprint.get("/api/docs/<name>")
@produces("text/javascript", "application/javascript", "text/css", "image/png")
def asset(name: str) -> Response:
    if name == "init.js":
        script = render_template("api-docs-init.js")
        return Response(script, content_type="text/javascript; charset=utf-8")
    if name not in ASSETS:
        raise NotFound()
    return send_from_directory(Path(swagger_ui_path), name, max_age=3600)
