"""Cloud Run (Admin API v2: Services and Revisions) in the local cloud: state and rules (models.py),
the handlers on the GCP hosting (api.py), revisions on the runtime (deployer.py), the service URLs
with Google's pages for them (router.py)."""
