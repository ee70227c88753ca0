"""grader/metadata_schema.py: nbgrader's cell metadata judged as jsonschema.validate judges it,
with its schema checked once per process instead of once per cell."""
from __future__ import annotations

import jsonschema
import pytest
from nbformat.v4 import new_code_cell

from grader import metadata_schema


def _cell(**nbgrader):
    cell = new_code_cell("x = 1")
    cell.metadata["nbgrader"] = {"schema_version": 3, "grade": True, "solution": False, "locked": True,
                                 "grade_id": "step1", "points": 2, **nbgrader}
    return cell


def test_nbgraders_validator_uses_it_and_judges_as_before(monkeypatch):
    from nbgrader.nbgraderformat import MetadataValidator, common

    monkeypatch.setattr(common, "jsonschema", jsonschema)
    plain = MetadataValidator()
    bad = _cell(points="two")
    with pytest.raises(jsonschema.ValidationError) as before:
        plain.validate_cell(bad)
    assert metadata_schema.use_checked_schemas()
    assert isinstance(common.jsonschema, metadata_schema.CheckedSchemas)
    checked = MetadataValidator()
    checked.validate_cell(_cell())  # a good cell passes
    with pytest.raises(jsonschema.ValidationError) as after:
        checked.validate_cell(bad)
    assert after.value.message == before.value.message and list(after.value.path) == list(before.value.path)


def test_the_schema_is_checked_once(monkeypatch):
    checks = []
    real = jsonschema.Draft4Validator.check_schema
    monkeypatch.setattr(jsonschema.Draft4Validator, "check_schema",
                        classmethod(lambda cls, schema, **kw: (checks.append(1), real(schema, **kw))[1]))
    schema = {"$schema": "http://json-schema.org/draft-04/schema#", "type": "object",
              "properties": {"points": {"type": "number"}}}
    schemas = metadata_schema.CheckedSchemas()
    for _ in range(5):
        schemas.validate({"points": 1}, schema)
    with pytest.raises(jsonschema.ValidationError):
        schemas.validate({"points": "x"}, schema)
    assert len(checks) == 1
