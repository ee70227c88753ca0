"""Cloud Run (Admin API v2: Services and Revisions) in the local cloud: state and rules (models.py),
the handlers on the GCP hosting (api.py), revisions on the runtime (deployer.py), the service URLs
(router.py), and Google's pages for the URLs (pages.py)."""
