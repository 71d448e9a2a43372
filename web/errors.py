"""Every error response, registered in one place, rendered as the Phoenix contract says.

Services answer with the domain's outcomes and `Unavailable` (actors/errors.py); the
runtime with `CallTimeout`, `NoProcess`, `ActorCrashed` or a `Rejected`, and supervisor
operations with `ChildError` or `StartFailed` (not `Rejected`s); Flask/Werkzeug with
`HTTPException`.
"""

from __future__ import annotations

import logging

from flask import Flask, Response
from werkzeug.exceptions import HTTPException

from actors import errors as service
from supervisors import ActorCrashed, CallTimeout, ChildError, NoProcess, Rejected, StartFailed
from web.responses import RETRY_AFTER_SECONDS, error, json_response, validation_errors

logger = logging.getLogger("bitnexus.web")


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(service.ValidationFailed, _validation_failed)
    app.register_error_handler(service.NotFound, lambda _exc: error(404))
    app.register_error_handler(service.Forbidden, lambda _exc: error(403))
    app.register_error_handler(service.Unauthorized, lambda _exc: unauthorized())
    app.register_error_handler(service.Unavailable, _unavailable)
    app.register_error_handler(ChildError, _child_error)
    app.register_error_handler(service.DomainError, _rejected)
    app.register_error_handler(Rejected, _rejected)
    app.register_error_handler(StartFailed, _rejected)  # an operator's restart that failed
    app.register_error_handler(CallTimeout, _unavailable)
    app.register_error_handler(NoProcess, _unavailable)
    app.register_error_handler(ActorCrashed, _server_error)
    app.register_error_handler(Exception, _server_error)


def unauthorized() -> Response:
    return error(401, {"www-authenticate": 'Bearer realm="bitnexus"'})


def _http_error(exc: HTTPException) -> Response | HTTPException:
    code = exc.code or 500
    if code < 400:
        return exc  # a routing redirect is a response, not an error
    if code == 405:
        return error(404)  # Phoenix never answers 405: a wrong method is an unknown route
    if code == 401:
        return unauthorized()
    if code == 503:
        return error(503, {"retry-after": RETRY_AFTER_SECONDS})
    return error(code)


def _validation_failed(exc: service.ValidationFailed) -> Response:
    return validation_errors(exc.errors)


def _unavailable(exc: Exception) -> Response:
    logger.warning("service unavailable: %s", exc)
    return error(503, {"retry-after": RETRY_AFTER_SECONDS})


def _child_error(exc: ChildError) -> Response:
    if exc.reason == "not_found":
        return error(404)
    return validation_errors({"status": [exc.reason]})


def _rejected(exc: Exception) -> Response:
    # An expected outcome this layer has no specific mapping for: the caller's request.
    return json_response({"errors": {"base": [str(exc) or "is invalid"]}}, 422)


def _server_error(exc: Exception) -> Response:
    logger.error("request failed", exc_info=exc)  # the traceback goes to the log only
    return error(500)
