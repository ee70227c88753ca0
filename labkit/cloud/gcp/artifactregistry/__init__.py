"""Artifact Registry (google.devtools.artifactregistry.v1): Docker repositories whose images are
pushed through the local cloud's OCI registry as REGION-docker.pkg.dev/PROJECT/REPOSITORY/IMAGE."""
