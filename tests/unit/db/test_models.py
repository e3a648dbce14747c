"""Rows read like dicts and know their display names."""

import pytest

from nova.db.sqlalchemy import models


def test_dict_style_access():
    user = models.User(id="alice", access_key="ak")
    assert user["id"] == "alice" and user.get("access_key") == "ak"
    assert user.get("nonexistent", "fallback") == "fallback"
    with pytest.raises(KeyError):
        user["nonexistent"]
    user["secret_key"] = "sk"
    user.update({"name": "Alice", "is_admin": True})
    assert (user.secret_key, user.name, user.is_admin) == ("sk", "Alice", True)
    assert "access_key" in user and "nonexistent" not in user
    as_dict = user.to_dict()
    assert as_dict["id"] == "alice" and as_dict["deleted"] is None
    assert set(as_dict) == set(dict(user)) == set(models.User.__table__.c.keys())


@pytest.mark.parametrize("model, name", [
    (models.Instance, "instance-0000002a"),
    (models.Volume, "volume-0000002a"),
    (models.Snapshot, "snapshot-0000002a"),
])
def test_names_are_hex_ids(model, name):
    row = model(id=42)
    assert row.name == name
    assert row["name"] == name and row.to_dict()["name"] == name


def test_every_table_has_the_soft_delete_columns():
    for table in models.Base.metadata.tables.values():
        assert {"created_at", "updated_at", "deleted_at", "deleted"} <= set(table.c.keys()), table.name


def test_every_string_has_a_length():
    for table in models.Base.metadata.tables.values():
        for column in table.c:
            if type(column.type).__name__ == "String":
                assert column.type.length, f"{table.name}.{column.name}"
