"""coursebuild: builds every notebook of the course from its bilingual markdown source.

`python -m coursebuild` (or `make build`) regenerates course/, solutions/ and labs/;
`--check` says whether they are up to date; `--stamp FILE:LINE` records a re-translated Korean
block. The source format is documented in coursebuild/README.md.
"""
from coursebuild.build import BuildResult, Changes, build, compare, find_root, find_sources, sync  # noqa: F401
from coursebuild.errors import SourceError, StampError  # noqa: F401
from coursebuild.notebook import build_notebook, dumps, nbgrader_metadata  # noqa: F401
from coursebuild.source import Code, Markdown, Source, Stale, parse, sha8  # noqa: F401
