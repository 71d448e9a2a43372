"""The application factory."""

from __future__ import annotations

from flask import Flask, Response, current_app, request
from flask.sessions import NullSession, SessionInterface
from werkzeug.exceptions import NotAcceptable

from bitnexus.config import Config
from web import cors, middleware, shape
from web.client_address import parse_networks
from web.errors import register_error_handlers
from web.responses import negotiate
from web.routes import admin, api, docs, health, socket
from web.runtime import Runtime


def create_app(config: Config, runtime: Runtime | None = None) -> Flask:
    """A Flask app serving the API over the actors `runtime.tree` runs.

    `config.secret_key` signs the JWTs and must be set (the server generates one for
    development); `config.admin_token` enables the operator endpoints.
    """
    if not config.secret_key:
        raise ValueError("a secret key is required to sign tokens (BITNEXUS_SECRET_KEY)")
    app = Flask(__name__, static_folder=None)
    app.config.update(
        SECRET_KEY=config.secret_key,
        BITNEXUS_ADMIN_TOKEN=config.admin_token,
        BITNEXUS_CALL_TIMEOUT=config.call_timeout,
        BITNEXUS_TRUSTED_PROXIES=parse_networks(",".join(config.trusted_proxies)),
        BITNEXUS_CURRENCIES=config.currencies,
        MAX_CONTENT_LENGTH=shape.MAX_BODY_BYTES,
        PROVIDE_AUTOMATIC_OPTIONS=False,  # Phoenix answers OPTIONS like any unknown route
    )
    app.session_interface = _NoSessions()
    runtime = runtime or Runtime()
    app.extensions["bitnexus.runtime"] = runtime
    app.url_map.converters["id"] = shape.IdConverter
    app.url_map.strict_slashes = False
    register_error_handlers(app)
    middleware.install(app)
    app.before_request(_before)
    app.register_blueprint(health.blueprint)
    app.register_blueprint(admin.blueprint)
    app.register_blueprint(api.blueprint)
    app.register_blueprint(docs.blueprint)
    app.register_blueprint(socket.blueprint)
    cors.configure(app, config.cors_origins)
    return app


def _before() -> None:
    _check_accept()
    shape.check_query()
    if request.blueprint != socket.blueprint.name:  # as Phoenix mounts its socket before
        shape.parse_body()  # Plug.Parsers: LongPoll reads its own (ndjson) body


def _check_accept() -> None:
    """406 when the client's `Accept` excludes what the matched route produces."""
    accept = request.environ.get("HTTP_ACCEPT", "*/*")  # none accepts anything
    rule = request.url_rule
    if rule is None or accept == "*/*":  # most clients' (curl, fetch): nothing to parse
        return
    offers = getattr(current_app.view_functions[rule.endpoint], "produces", ("application/json",))
    if accept not in offers and negotiate(offers) is None:
        raise NotAcceptable()


class _NoSessions(SessionInterface):
    """The API is stateless (bearer tokens): no cookie session is parsed or signed, which
    Flask would otherwise set up on every request because a secret key is configured."""

    def open_session(self, app: Flask, request: object) -> NullSession:
        return self.make_null_session(app)

    def save_session(self, app: Flask, session: object, response: Response) -> None:
        return None
