"""`grader`: the instructor's command over nbgrader, tamper-resistant.

    grader init --course DIR lab02        nbgrader course + gradebook for lab02
    grader autograde lab02 --course DIR   each submission: own local cloud, run the notebook, check the cloud
    grader export grades.csv --course DIR
    grader feedback lab02 --course DIR

Every score is decided outside the student's kernel (see `grader.worker`).
"""
import sys

__version__ = "0.1.0"

# jsonschema (imported by nbformat) imports rfc3987_syntax when it is installed, and that compiles
# an Earley grammar at import: 2-4 CPU-seconds in every grader process (the main one and each
# worker). Only jsonschema's "iri" format checks use it, and no schema nbformat or nbgrader
# validates names that format, so grader processes do without (jsonschema then skips "iri").
sys.modules.setdefault("rfc3987_syntax", None)
