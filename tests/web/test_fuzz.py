"""schemathesis against /api/v1 and the OGC API, from their own OpenAPI documents.

Each operation is fuzzed as four callers (anonymous, reporter, operator of one
street, admin) on a throwaway store per backend: no answer may be a server
error, and every answer must conform to the document (status, media type,
schema). Whether the API accepts a valid-looking value (a case id that does not
exist, a workflow step from the wrong status) is not the document's to say, so
the data-acceptance checks are left out.

Not fuzzed here, each with its own tests: none yet (an endless event stream or
rate-limited anonymous intake would be excluded by name, with the reason).
"""

import itertools
import json

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from geogrid.auth import create_token, create_user

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
#: valid data by the document, and data it forbids (which must be refused, not crash)
MODES = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
ROLES = {"anonymous": None, "reporter": "reporter", "operator": "operator", "admin": "admin"}
FUZZ = settings(
    max_examples=20,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)


@pytest.fixture
def fuzz_app(store, clock):
    from web import create_app

    app = create_app({"TESTING": True, "DATABASE_URL": store.url, "CLOCK": clock})
    client = app.test_client()
    headers = {}
    for role, scope in (("reporter", None), ("operator", "410102001"), ("admin", None)):
        create_user(store, role, role, scope)
        headers[role] = {"Authorization": f"Bearer {create_token(store, role)}"}
    seed = [{"lon": 113.507 + i * 1e-3, "lat": 34.707, "category": "noise"} for i in range(3)]
    answer = client.post(
        "/api/v1/events",
        data=json.dumps(seed),
        headers=headers["admin"],
        content_type="application/json",
    )
    assert answer.status_code == 200
    app.config["FUZZ_HEADERS"] = headers
    app.config["STREAM_SECONDS"] = 0.2  # a live stream ends soon enough to be read whole
    return app


def _operations(document_path: str, app):
    schema = schemathesis.openapi.from_wsgi(document_path, app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert operations, f"{document_path} documents no operation"
    return operations


def _fuzz(document_path: str, app, roles) -> dict:
    """Every operation of the document, fuzzed as each of ``roles``; counts of what ran."""
    tried = {"operations": 0, "cases": 0, "requests": 0}
    for operation, mode in itertools.product(_operations(document_path, app), MODES):
        tried["operations"] += mode == GenerationMode.POSITIVE

        @FUZZ
        @given(case=operation.as_strategy(generation_mode=mode))
        def run(case):
            tried["cases"] += 1
            for role in roles:
                headers = app.config["FUZZ_HEADERS"].get(ROLES[role]) or {}
                # the documents describe the bodies; the WSGI transport would not undo a
                # compression the client library asks for (tests/web/test_stream.py has that)
                headers = {**headers, "Accept-Encoding": "identity"}
                case.call_and_validate(headers=headers, checks=CHECKS)
                tried["requests"] += 1

        try:
            run()
        except Unsatisfiable:
            # nothing of this operation can be made invalid (no parameters, no body)
            assert mode == GenerationMode.NEGATIVE, operation.label
    return tried


def test_the_json_api_never_fails_and_keeps_to_its_document(fuzz_app):
    tried = _fuzz("/api/v1/openapi.json", fuzz_app, tuple(ROLES))
    print(f"/api/v1 fuzzed: {tried}")
    assert tried["operations"] >= 19


def test_the_ogc_api_never_fails_and_keeps_to_its_document(fuzz_app):
    tried = _fuzz("/ogc/api", fuzz_app, ("anonymous", "operator"))
    print(f"/ogc fuzzed: {tried}")
    assert tried["operations"] >= 6
