"""nbgrader checks each cell's nbgrader metadata with `jsonschema.validate(metadata, schema)`
(nbgrader/nbgraderformat/common.py), which first checks the schema itself against its
meta-schema, on every call: twice per cell of every submission, ~0.1 CPU-s per lab 02 submission.
The schema is nbgrader's own file. `use_checked_schemas()` (a worker calls it once) makes that
call check each schema once per process and judge every cell with the same validator: the same
result, the same error raised (jsonschema.validate raises the best match of the errors)."""
from __future__ import annotations

import json


class CheckedSchemas:
    """Stands in for the `jsonschema` module in nbgrader's metadata validator: `validate` alone."""

    def __init__(self):
        self._validators: dict[str, object] = {}

    def validate(self, instance, schema):
        import jsonschema

        key = json.dumps(schema, sort_keys=True)  # a schema is a small dict; its text names it
        validator = self._validators.get(key)
        if validator is None:
            cls = jsonschema.validators.validator_for(schema)
            cls.check_schema(schema)
            validator = self._validators[key] = cls(schema)
        error = jsonschema.exceptions.best_match(validator.iter_errors(instance))
        if error is not None:
            raise error


def use_checked_schemas() -> bool:
    """Point nbgrader's metadata validation at CheckedSchemas; False where this nbgrader does not
    validate that way (then it is left as it is)."""
    from nbgrader.nbgraderformat import common

    if getattr(getattr(common, "jsonschema", None), "validate", None) is None:
        return False
    if not isinstance(common.jsonschema, CheckedSchemas):
        common.jsonschema = CheckedSchemas()
    return True
