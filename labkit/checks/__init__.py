"""Lab checks: read the local cloud's state and return one Result per condition (see core.py)."""
