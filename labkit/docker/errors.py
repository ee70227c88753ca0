"""Errors of `labkit docker`, each carrying docker's own wording and, where it helps a student,
a hint (a message key of labkit.messages, shown after the error in the notebook's language).

    DockerError                     message as docker prints it; exit code 1
    ├── InvalidReference            (reference.py) invalid reference format
    ├── RegistryRefused             (reference.py) a registry outside 127.0.0.1
    ├── ImageNotFound               (store.py) No such image: my-app:latest
    ├── BuildError                  (build.py) ERROR: failed to solve: ...
    └── RegistryError               (registry_client.py) the registry's own error, relayed
        └── RegistryUnreachable     nothing answers on 127.0.0.1:PORT
"""
from __future__ import annotations


class DockerError(Exception):
    exit_code = 1

    def __init__(self, message: str, hint: tuple[str, dict] | None = None, exit_code: int | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint
        if exit_code is not None:
            self.exit_code = exit_code

    def __str__(self) -> str:
        return self.message

    def hint_text(self, lang: str | None = None) -> str | None:
        if not self.hint:
            return None
        from labkit.messages import text

        key, params = self.hint
        return text(key, lang=lang, **params)
