"""The one GCP project of the local cloud (the lessons' PROJECT_ID) and its default region."""
from __future__ import annotations

DEFAULT_PROJECT = "labkit-project"
DEFAULT_REGION = "asia-northeast3"  # Seoul, the course's region
PROJECT_NUMBER = "123456789012"     # fixed: Cloud Run URLs carry it (SERVICE-PROJECTNUMBER.REGION.run.app)
