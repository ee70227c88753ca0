"""`grader`: the instructor's command over nbgrader, tamper-resistant.

    grader init --course DIR lab02        nbgrader course + gradebook for lab02
    grader autograde lab02 --course DIR   each submission: own local cloud, run the notebook, check the cloud
    grader export grades.csv --course DIR
    grader feedback lab02 --course DIR

Every score is decided outside the student's kernel (see `grader.worker`).
"""
__version__ = "0.1.0"
