"""The one GCP project of the local cloud (the lessons' PROJECT_ID) and its default region."""
from __future__ import annotations

DEFAULT_PROJECT = "labkit-project"
DEFAULT_REGION = "asia-northeast3"  # Seoul, the course's region
PROJECT_NUMBER = "123456789012"     # fixed: Cloud Run URLs carry it (SERVICE-PROJECTNUMBER.REGION.run.app)

# The local cloud's OAuth access token (what `gcloud auth print-access-token` prints here): the
# password Artifact Registry's docker registry takes with user `oauth2accesstoken` (or
# `_dcgcloud_token`, the user gcloud's docker credential helper gives). Shaped as Google's
# (`ya29.`); a fixed value, because the local cloud has one user and nothing to protect from them.
ACCESS_TOKEN = "ya29.labkit-local-access-token"
