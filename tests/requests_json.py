"""Small request helpers the web tests share."""

import json


def patch_event(api, event_id, body, headers):
    """PATCH /api/v1/events/<id> with a JSON body."""
    return api.patch(
        f"/api/v1/events/{event_id}",
        data=json.dumps(body),
        headers=headers,
        content_type="application/json",
    )
