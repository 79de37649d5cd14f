"""Stored cases for the closure metrics tests: the published bulletin, and single cases."""

from datetime import UTC, datetime, timedelta

START = datetime(2026, 6, 1, tzinfo=UTC)
END = datetime(2026, 7, 1, tzinfo=UTC)


def case(i, *, status, due, closed=None, street="410102001", reported=None):
    reported = reported or due - timedelta(hours=52)
    return {
        "id": i,
        "created_at": reported,
        "created_by": "t",
        "reported_at": reported,
        "lon": 113.5,
        "lat": 34.7,
        "crs": "wgs84",
        "lon_in": 113.5,
        "lat_in": 34.7,
        "category": "noise",
        "description": "",
        "source": "app",
        "status": status,
        "status_at": closed or reported,
        "stage_due_at": None,
        "close_due_at": due,
        "closed_at": closed,
        "district": "410102",
        "street": street,
        "community": street + "001",
        "grid": street + "001001",
        "micro": None,
        "dedicated": None,
        "method": "inside",
        "generation_id": 1,
    }


def bulletin_rows():
    """972 cases due in June: 737 closed on time, 174 closed late, 61 still open."""
    rows = []
    for i in range(972):
        due = START + timedelta(hours=12 + (i % 600))
        street = "410102001" if i % 3 else "410102002"
        if i < 737:
            rows.append(
                case(
                    i + 1, status="closed", due=due, closed=due - timedelta(hours=2), street=street
                )
            )
        elif i < 911:
            rows.append(
                case(
                    i + 1, status="closed", due=due, closed=due + timedelta(hours=5), street=street
                )
            )
        else:
            rows.append(case(i + 1, status="handling", due=due, street=street))
    # not due in June, or not cases: they must not count
    rows.append(case(1001, status="handling", due=END + timedelta(days=3)))
    rows.append(case(1002, status="rejected", due=START + timedelta(days=2)))
    rows.append(case(1003, status="merged", due=START + timedelta(days=2)))
    rows.append(
        case(
            1004, status="closed", due=START - timedelta(days=20), closed=START - timedelta(days=19)
        )
    )
    return rows
