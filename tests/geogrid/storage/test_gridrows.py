"""Grid rows read in bulk: the attributes as each row's JSON would read alone."""

import dataclasses
import json

import pytest
import sqlalchemy as sa

from geogrid.storage.gridrows import _attributes, attribute_dicts
from geogrid.storage.schema import grids

TEXTS = [
    '{"leader": "吴艳", "phone": "18631770792"}',
    '{"z": 1, "a": [1, 2.5, null], "m": {"k": "v"}}',
    "{}",
    "null",
    '{"households": 500, "note": "a, b] {c"}',
    '{"escaped": "\\u4e2d\\"\\\\"}',
]


def _one_by_one(values):
    return [_attributes(v) for v in values]


@pytest.mark.parametrize("values", [TEXTS, TEXTS[:1], [], [{"parsed": True}, None]])
def test_bulk_parsing_gives_each_row_what_it_would_alone(values):
    found = attribute_dicts(values)
    assert found == _one_by_one(values)
    assert [list(d.items()) for d in found] == [list(d.items()) for d in _one_by_one(values)]


def test_a_text_that_is_not_one_json_value_fails_as_it_would_alone():
    values = ['{"a": 1}', '{"b": 2}, {"c": 3}']
    with pytest.raises(json.JSONDecodeError, match="Extra data"):
        _one_by_one(values)
    with pytest.raises(json.JSONDecodeError, match="Extra data"):
        attribute_dicts(values)


def test_loaded_grids_carry_the_attributes_sqlalchemy_reads(store, small_grids):
    varied = [
        dataclasses.replace(g, attributes={"n": i, "名": "值", "z": None, "a": {"b": [i]}})
        for i, g in enumerate(small_grids)
    ]
    store.import_grids(varied)
    with store.engine.connect() as conn:
        query = sa.select(grids.c.code, grids.c.attributes).where(grids.c.generation_high == 2)
        expected = dict(conn.execute(query).all())
    loaded = store.load_grids()
    assert {g.code: g.attributes for g in loaded} == expected
    assert [list(g.attributes) for g in loaded] == [list(expected[g.code]) for g in loaded]
