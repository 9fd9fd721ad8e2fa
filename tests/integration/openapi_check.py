"""docs/openapi.yaml as a checker of real answers.

check(method, path, status, body) validates one answer of the daemon
against the schema the document gives for that route and status, and
raises AssertionError naming the route, the status and what is wrong. It
is what tests/integration/test_openapi.py drives, and, with
BANGER_OPENAPI_CHECK=1, what conftest's Env.api runs on every answer the
integration tests get.
"""
import json
import os
import re
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

import jsonschema
import yaml

REPO = Path(__file__).resolve().parents[2]
SPEC = REPO / "docs" / "openapi.yaml"
ROUTES_C = REPO / "src" / "daemon" / "routes.c"
METHODS = ("get", "put", "post", "patch", "delete")


def enabled():
    """True when every Env.api answer is to be checked."""
    return os.environ.get("BANGER_OPENAPI_CHECK") == "1"


@lru_cache(maxsize=1)
def spec():
    with open(SPEC) as f:
        return yaml.safe_load(f)


@lru_cache(maxsize=1)
def _resolver():
    return jsonschema.RefResolver.from_schema(spec())


def documented_routes():
    """{(METHOD, path template with {} for a parameter)} of the document."""
    out = set()
    for path, item in spec()["paths"].items():
        for m in item:
            if m in METHODS:
                out.add((m.upper(), re.sub(r"\{[^}]*\}", "{}", path)))
    return out


def daemon_routes():
    """The same set, read from the route table in src/daemon/routes.c."""
    text = ROUTES_C.read_text()
    table = text[text.index("const struct route routes[]"):]
    out = set()
    for m, p in re.findall(r'\{\s*"([A-Z]+)"\s*,\s*"([^"]+)"', table):
        out.add((m, re.sub(r"\{[^}]*\}", "{}", p)))
    return out


def _template_regex(path):
    return re.compile("^" + re.sub(r"\\\{[^}]*\\\}", "[^/]+", re.escape(path)) + "$")


def find_operation(method, url):
    """(path template, operation) for a request; literal paths win over
    templates (/v1/images/build is not /v1/images/{name}). None when the
    document has no such route."""
    path = urlsplit(url).path
    paths = spec()["paths"]
    hits = [p for p in paths if _template_regex(p).match(path)]
    hits.sort(key=lambda p: p.count("{"))
    for p in hits:
        op = paths[p].get(method.lower())
        if op:
            return p, op
    return None


def _deref(obj):
    while "$ref" in obj:
        obj = _resolver().resolve(obj["$ref"])[1]
    return obj


def response_schema(method, url, status):
    """(schema, media type) the document gives for this answer; raises
    AssertionError when it documents neither the route nor the status."""
    found = find_operation(method, url)
    assert found, f"{method} {url}: route not in docs/openapi.yaml"
    tmpl, op = found
    resp = op["responses"].get(str(status))
    assert resp is not None, (f"{method} {tmpl}: status {status} not documented "
                              f"(documented: {', '.join(sorted(op['responses']))})")
    resp = _deref(resp)
    content = resp.get("content", {})
    assert content, f"{method} {tmpl} {status}: no content documented"
    media, body = next(iter(content.items()))
    return body["schema"], media


def validate(schema, value, where):
    v = jsonschema.Draft202012Validator(schema, resolver=_resolver())
    errors = sorted(v.iter_errors(value), key=lambda e: list(e.absolute_path))
    if errors:
        lines = []
        for e in errors[:5]:
            at = "/".join(str(p) for p in e.absolute_path) or "(top)"
            lines.append(f"  at {at}: {e.message[:300]}")
        raise AssertionError(f"{where}: answer does not match docs/openapi.yaml:\n"
                             + "\n".join(lines) + f"\nbody: {json.dumps(value)[:1500]}")


def check(method, url, status, body):
    """Validates one answer. body: parsed JSON, or for a JSON-lines answer
    the text (every non-blank line is checked)."""
    where = f"{method} {url} -> {status}"
    if find_operation(method, url) is None and status in (404, 405):
        # A path no route has (a test of the router itself): still an error object.
        validate(spec()["components"]["schemas"]["Error"], body, where)
        return
    schema, media = response_schema(method, url, status)
    if media == "application/x-ndjson":
        text = body if isinstance(body, str) else json.dumps(body)
        for n, line in enumerate(text.splitlines(), 1):
            if line.strip():
                validate(schema, json.loads(line), f"{where} line {n}")
        return
    assert not isinstance(body, str), f"{where}: answer is not JSON: {body[:300]!r}"
    validate(schema, body, where)


def check_request(method, url, body):
    """Validates a request body against the document (for the tests' own
    well-formed requests: a mistake in the document shows here first)."""
    found = find_operation(method, url)
    assert found, f"{method} {url}: route not in docs/openapi.yaml"
    rb = found[1].get("requestBody")
    assert rb, f"{method} {found[0]}: takes no documented body"
    schema = _deref(rb)["content"]["application/json"]["schema"]
    validate(schema, body, f"request {method} {url}")
