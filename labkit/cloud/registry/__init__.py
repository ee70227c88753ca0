"""The local cloud's container registry: the OCI distribution API v2 (api.py) over ECR's models
(ecr.py adapts them), so a `docker push` shows in `aws ecr describe-images` and vice versa.
oci.py holds the pure manifest/digest helpers."""
