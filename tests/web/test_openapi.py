"""The OpenAPI document is generated from the routes' own parameter specs, and complete."""

import re

import pytest
from flask import Blueprint

from web import create_app
from web.openapi import document


def test_every_api_route_is_in_the_document(api):
    doc = api.get("/api/v1/openapi.json").get_json()
    assert doc["openapi"] == "3.1.0"
    app = api.application
    rules = {
        re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", r.rule[len("/api/v1") :])
        for r in app.url_map.iter_rules()
        if r.rule.startswith("/api/v1/")
    }
    assert rules == set(doc["paths"])
    events = {p["name"]: p for p in doc["paths"]["/events"]["get"]["parameters"]}
    assert events["limit"]["schema"] == {
        "type": "integer",
        "minimum": 1,
        "maximum": 1000,
        "default": 100,
    }
    assert events["category"]["schema"]["enum"] == list(app.extensions["geogrid"].categories)
    assert events["from"]["schema"]["format"] == "date-time"
    one = doc["paths"]["/events/{event_id}"]["get"]["parameters"][0]
    assert one["schema"] == {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}
    assert doc["paths"]["/events"]["post"]["security"] == [{"bearer": []}]


def test_the_parameters_documented_are_the_ones_parsed(api, tokens):
    # the spec says limit is at most 1000, and the same spec refuses 1001
    answer = api.get("/api/v1/events?limit=1001", headers=tokens["adm"])
    assert answer.status_code == 400
    assert "limit: expected an integer from 1 to 1000" in answer.get_json()["error"]["message"]


def test_a_route_without_a_declaration_is_refused(store):
    app = create_app({"TESTING": True, "DATABASE_URL": store.url})
    extra = Blueprint("extra", __name__, url_prefix="/api/v1")
    extra.add_url_rule("/undocumented", "undocumented", lambda: "")
    app.register_blueprint(extra)
    with app.app_context(), pytest.raises(LookupError, match="/api/v1/undocumented"):
        document(app)


def test_the_docs_page_loads_nothing_from_elsewhere(api):
    page = api.get("/api/v1/docs").get_data(as_text=True)
    assert "swagger-ui-bundle.js" in page
    assert not re.findall(r'(?:src|href)="https?://', page)
    with api.get("/static/api-docs.js") as answer:
        assert "validatorUrl: null" in answer.get_data(as_text=True)
