"""The OpenAPI 3.1 document of ``/api/v1``, generated from the routes and their specs.

Every ``/api/v1`` view declares its parameters, body and answers once, with
:func:`web.params.operation`; the view reads its query through the same
:class:`web.params.Param` objects (:func:`web.params.args`), so the document
and the parsing cannot drift apart. A route without a declaration is an error
here (and in the test that builds the document), never a silent gap.
"""

from __future__ import annotations

import re

from flask import Flask

from geogrid.parse import MAX_ID

__all__ = ["PREFIX", "document"]

PREFIX = "/api/v1"
_CONVERTER = re.compile(r"<(?:(?P<conv>[a-z]+)(?:\([^)]*\))?:)?(?P<name>[a-z_]+)>")
_ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["type", "message", "details"],
            "properties": {
                "type": {"type": "string"},
                "message": {"type": "string"},
                "details": {"type": "array", "items": {"type": "object"}},
            },
        }
    },
}


def _path(rule: str) -> tuple[str, list[dict]]:
    """``/events/<id:event_id>`` → ``/events/{event_id}`` and its path parameters."""
    params = []
    for match in _CONVERTER.finditer(rule):
        if match["conv"] == "id":
            schema = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
        else:
            schema = {"type": "string", "minLength": 1}
        params.append({"name": match["name"], "in": "path", "required": True, "schema": schema})
    return _CONVERTER.sub(lambda m: "{" + m["name"] + "}", rule), params


def _operation(view, method: str, path_params: list[dict]) -> dict:
    spec = view.openapi
    summary, _, description = (view.__doc__ or "").strip().replace("``", "`").partition("\n")
    op: dict = {
        "operationId": f"{method.lower()}_{view.__name__}",
        "summary": summary.strip(),
        "parameters": path_params + [p.openapi() for p in spec["params"]],
        "responses": {
            str(code): _response(what, media) for code, (what, media) in spec["responses"].items()
        }
        | {
            "default": {
                "description": "an error: bad input (400), no or a wrong token (401), "
                "not allowed (403), not found (404), a conflict (409), too large (413)",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
            }
        },
    }
    if description.strip():
        op["description"] = description.strip()
    if spec["auth"]:
        op["security"] = [{"bearer": []}]
        op["description"] = (
            op.get("description", "") + f"\n\nNeeds a token that may {spec['auth']}."
        ).strip()
    if spec["body"] is not None:
        bodies = spec["body"] if isinstance(spec["body"], dict) else dict([spec["body"]])
        op["requestBody"] = {
            "required": True,
            "content": {media: {"schema": schema} for media, schema in bodies.items()},
        }
    return op


def _response(what: str, media: str | tuple[str, ...] | None) -> dict:
    """An answer: its description and its media type (or the several it may have)."""
    if media is None:
        return {"description": what}
    kinds = (media,) if isinstance(media, str) else media
    return {"description": what, "content": {kind: {"schema": {}} for kind in kinds}}


def document(app: Flask) -> dict:
    """The OpenAPI 3.1 document of every ``/api/v1`` route of ``app``."""
    paths: dict[str, dict] = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if not rule.rule.startswith(PREFIX + "/"):
            continue
        view = app.view_functions[rule.endpoint]
        if not hasattr(view, "openapi"):
            raise LookupError(f"{rule.rule} ({rule.endpoint}) declares no OpenAPI operation")
        path, path_params = _path(rule.rule[len(PREFIX) :])
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            paths.setdefault(path, {})[method.lower()] = _operation(view, method, path_params)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "geogrid 网格化治理 API",
            "version": "1",
            "description": "Grids, events and their cases, stations and boundary generations of "
            "a district's grid governance. Write operations need `Authorization: Bearer <token>` "
            "(`geogrid user token NAME`).",
        },
        "servers": [{"url": PREFIX}],
        "paths": paths,
        "components": {
            "schemas": {"Error": _ERROR},
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
