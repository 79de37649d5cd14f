from datetime import UTC, datetime, timedelta

from geogrid.duplicates import DuplicateFinder

T = datetime(2026, 7, 1, tzinfo=UTC)


def test_box_query_then_exact_distance_and_window():
    finder = DuplicateFinder(None)
    finder.add(1, "noise", 113.6, 34.78, T)
    finder.add(2, "noise", 113.6004, 34.78, T + timedelta(hours=71))  # ~36.6 m east
    finder.add(3, "noise", 113.6, 34.7804, T - timedelta(hours=73))  # 44 m north, too early
    finder.add(4, "sanitation", 113.6, 34.78, T)
    hits = finder.find("noise", 113.6, 34.78, T)
    assert [i for _, i in hits] == [1, 2]
    assert 36 < hits[1][0] < 37
    # a corner of the 50 m box: ~54 m away, not a duplicate
    corner = finder.find("noise", 113.6004 + 0.00039, 34.78 + 0.00039, T + timedelta(hours=71))
    assert corner == []
    finder.remove(1)
    assert [i for _, i in finder.find("noise", 113.6, 34.78, T)] == [2]
    assert finder.find("fire_hazard", 113.6, 34.78, T) == []
