"""The hostile-Unicode property: arbitrary strings (lone surrogates, NUL, noncharacters,
long ones) in every route's path, query, body and headers never get a 5xx from a live
server and never restart an actor. Shared by tests/web and drill 6's long form."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bitnexus.config import Config
from supervisors import walk
from web import create_app

# Routes whose success changes who may call at all: the property would stop reaching the
# actors once its own session is gone (they are exercised by their own tests).
SKIPPED = {("POST", "/api/v1/auth/logout"), ("DELETE", "/api/v1/users/<id:user_id>")}
FIELDS = (
    "email", "name", "password", "role", "description", "category", "price", "currency",
    "commission_rate", "status", "kind", "amount", "recipient_id", "product_id",
    "affiliate_id", "idempotency_key", "refresh_token", "token",
)  # fmt: skip
QUERY = ("currency", "limit", "after", "q", "category", "status", "created_by", "kind", "token")
WRAPPERS = ("user", "product", "transaction")


def routes() -> list[tuple[str, str]]:
    """Every (method, rule) the app serves, from its own url_map."""
    app = create_app(Config(database_url="sqlite://", secret_key="enumerating-routes-only"))
    found = {
        (method, rule.rule)
        for rule in app.url_map.iter_rules()
        for method in rule.methods or ()
        if method not in ("HEAD", "OPTIONS")
    }
    return sorted(found - SKIPPED)


# Every code point, surrogates included (Hypothesis leaves out category Cs by default).
any_text = st.text(st.characters(exclude_categories=()), max_size=40)
worst = st.sampled_from(["\ud800", "\udfff", "\x00", "\ufdd0", "\U0010ffff", "\ufffe", "\u202e"])
# Hypothesis favours a one_of's first branches: the hostile ones come first.
short_text = st.one_of(st.builds("{}{}{}".format, any_text, worst, any_text), worst, any_text)
# Long strings go in bodies only: a request line past gunicorn's limit is refused (414)
# before it is read, which the client sees as a broken pipe, not an answer.
hostile_text = st.one_of(
    short_text,
    st.builds(lambda c, n: c * n, st.characters(exclude_categories=()), st.integers(1, 5000)),
)
scalar = st.one_of(hostile_text, st.integers(-(2**70), 2**70), st.none(), st.booleans())
# Valid bodies, one of whose fields the property then replaces: a string only
# reaches the database (where it can crash a driver) once every other field is valid.
TEMPLATES = {
    "user": {"name": "Name", "password": "p" * 12, "role": "user"},
    "product": {"name": "Widget", "price": "1.00", "currency": "EUR"},
    "transaction": {"kind": "deposit", "amount": "1.00", "currency": "EUR"},
    "top": {"password": "p" * 12},  # a login
}
latin1 = st.text(st.characters(max_codepoint=0xFF, exclude_characters="\r\n"), max_size=60)


@dataclass(frozen=True)
class Sent:
    method: str
    path: str
    body: bytes | None
    headers: dict[str, str]


def _segment(value: str) -> str:
    return quote(value.encode("utf-8", "surrogatepass"), safe="") or "x"


@st.composite
def requests(draw: st.DrawFn, route: tuple[str, str], auths: list[dict]) -> Sent:
    method, rule = route
    path = rule
    while "<" in path:
        start, end = path.index("<"), path.index(">")
        value = draw(st.one_of(st.integers(0, 6).map(str), short_text))
        path = path[:start] + _segment(value) + path[end + 1 :]
    if draw(st.integers(0, 2)) == 0:
        names = st.one_of(st.sampled_from(QUERY), short_text)
        query = draw(st.dictionaries(names, short_text, min_size=1, max_size=3))
        path += "?" + "&".join(f"{_segment(k)}={_segment(v)}" for k, v in query.items())
    fitting = [w for w in TEMPLATES if w in rule] or (["user", "top"] if "auth" in rule else [])
    shape = draw(
        st.one_of(st.sampled_from(fitting or ["none"]), st.sampled_from([*TEMPLATES, "none"]))
    )
    inner = dict(TEMPLATES.get(shape, {}))
    if "password" in inner:  # a fresh address, so the write is not refused as taken
        inner["email"] = f"p{draw(st.integers(0, 10**12))}@example.com"
    known = st.sampled_from([*inner] or FIELDS)
    field = draw(st.one_of(known, st.sampled_from(FIELDS), short_text))
    inner[field] = draw(scalar)
    document = None if shape == "none" else inner if shape == "top" else {shape: inner}
    # ensure_ascii escapes a lone surrogate as \ud800, as a hostile client would send it.
    body = None if document is None else json.dumps(document, ensure_ascii=True).encode()
    headers = {**draw(st.sampled_from(auths)), "content-type": "application/json"}
    if draw(st.booleans()):
        headers["idempotency-key"] = draw(latin1)
    if draw(st.booleans()):
        headers["x-forwarded-for"] = draw(latin1)
    return Sent(method, path, body, headers)


def send(base: str, sent: Sent) -> int:
    request = urllib.request.Request(base + sent.path, data=sent.body, method=sent.method)
    for key, value in sent.headers.items():
        request.add_header(key, value)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            response.read()
            return response.status
    except urllib.error.HTTPError as exc:
        exc.read()
        return exc.code


def restart_totals(tree: dict) -> dict[str, int]:
    """Restarts per path of one worker's tree view (`/admin/supervision`)."""
    return {node["path"]: node["restarts"]["total"] for node in walk(tree)}


def run_property(
    base: str,
    auths: list[dict],
    per_route: int,
    on_answer: Callable[[Sent, int], None],
    derandomize: bool = False,
) -> int:
    """``per_route`` hostile requests to every route; ``on_answer`` sees each answer.

    Returns how many were sent. Fails on the first 5xx, with the request that got it.
    ``derandomize`` draws the same requests on every run.
    """
    sent_count = 0
    for route in routes():

        @settings(
            max_examples=per_route,
            deadline=None,
            database=None,
            derandomize=derandomize,
            suppress_health_check=list(HealthCheck),
        )
        @given(requests(route, auths))
        def prop(sent: Sent) -> None:
            nonlocal sent_count
            status = send(base, sent)
            sent_count += 1
            assert status < 500, (sent.method, sent.path, sent.body and sent.body[:300], status)
            on_answer(sent, status)

        prop()
    return sent_count
