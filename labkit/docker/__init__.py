"""`labkit docker`: the part of docker the course needs, in pure Python, without a Docker engine.

Introduced in lesson 02 (registries) and used again in lesson 09 (deploy a web app). Students
type the lesson's commands with `labkit` in front (`labkit docker build -t my-app .`); the
CLI is `labkit.docker.cli.main(argv)`. Nothing leaves 127.0.0.1: ECR and Artifact Registry
names are served by the local cloud, other registries are refused (see `reference.route`).

Python API (for lab checks and the grader; all read-only unless said otherwise)
-------------------------------------------------------------------------------
Local image store (LABKIT_HOME/docker), `labkit.docker.store`:

    ImageStore(home=None)                   home = LABKIT_HOME (default settings().home)
      .get(ref) -> Image                    tag, name@digest, IMAGE ID (prefix); raises ImageNotFound
      .list() -> list[Image]                newest first
      .blob(digest) -> bytes                 .has_blob(digest) -> bool
      .tag(source, target), .remove(ref, force=False), .add_image(...), .put_blob(...)  (writes)
    Image
      .digest            manifest digest ("sha256:..."), what a push reports
      .id / .short_id    config digest = docker's IMAGE ID (12 hex)
      .manifest, .manifest_bytes, .media_type, .config (dict), .config_bytes
      .layer_digests -> list[str]; .layer(digest) -> bytes (tar.gz)
      .repo_tags (["my-app:latest"]), .repo_digests, .size (uncompressed bytes), .created_local
      .files() -> ["/app/app.py", ...]      every file of the final filesystem (layers stacked)
      .read_file("/app/app.py") -> bytes | None
    ImageNotFound (a DockerError)

`labkit.docker.layers`:
    layer_files(tar_gz_bytes, include_dirs=False) -> list[str]   absolute paths in one layer
    read_layer(tar_gz_bytes) -> {path: Node}

Registries, `labkit.docker.registry_client` (credentials=None: what `labkit docker login` saved
under `home`; endpoint="http://127.0.0.1:PORT" picks the local cloud, default LABKIT_AWS_PORT):

    fetch_manifest(image, credentials=None, *, endpoint=None, home=None) -> Manifest(.data, .media_type, .digest, .manifest)
    fetch_config(image, credentials=None, *, endpoint=None, home=None) -> dict
    fetch_blob(image, digest, credentials=None, *, endpoint=None, home=None) -> bytes
    fetch_image(image, credentials=None, *, endpoint=None, home=None) -> RemoteImage(.manifest, .config, .layers, .digest, .files())
    ecr_credentials(boto3_ecr_client) -> ("AWS", password)
    RegistryClient(registry, credentials, endpoint=...) .get_manifest/.get_blob/.blob_exists/.list_tags
    push(image, store=None, ...) -> PushResult;  pull(image, store=None, ...) -> PullResult   (writes)

Building, `from labkit.docker.build import build`:
    build(context_dir, tags=(), *, dockerfile=None, build_args=None, target=None, platform=None,
          labels=None, no_cache=False, store=None, out=None) -> BuildResult(.image, .tags, .warnings)

`labkit.docker.bases.known_names()` lists the stand-in base images (data in labkit/bases/*.json).
`labkit.docker.reference.parse(text)` parses image references like docker.

Fidelity gaps (also in docs/fidelity.md)
----------------------------------------
- No container engine: `RUN pip install` is installed offline into the layer from the course's
  environment (pip_offline.py; a requirement it lacks fails as pip fails without network);
  other RUN lines only add a history entry and a warning. No `run`, `ps`, `exec`.
- Base images are stand-ins: the real config, /etc/os-release and a marker file, no OS files;
  sizes are tiny (a python:3.12-slim image is kilobytes, not ~150 MB).
- The image config's `created` is fixed (SOURCE_DATE_EPOCH, else 1970-01-01) so builds are
  reproducible; `images` shows when the local store got the image instead.
- Heredocs, `COPY --parents`, `ADD <url>`, `ADD <git>`, credential helpers are not supported.
"""
from __future__ import annotations

__all__ = ["ImageStore", "Image", "ImageNotFound", "DockerError", "layer_files", "main"]


def __getattr__(name: str):  # lazy, so `labkit docker --help` starts fast
    if name in ("ImageStore", "Image", "ImageNotFound"):
        from labkit.docker import store

        return getattr(store, name)
    if name == "DockerError":
        from labkit.docker.errors import DockerError

        return DockerError
    if name == "layer_files":
        from labkit.docker.layers import layer_files

        return layer_files
    if name == "main":
        from labkit.docker.cli import main

        return main
    raise AttributeError(f"module 'labkit.docker' has no attribute {name!r}")
