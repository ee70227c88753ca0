"""Amazon ECR, the control plane: repositories, images, layers, auth tokens (lesson 02).

`models.backend(state)` is the one backend; `api.ecr_app` serves ECR's AWS JSON API; the OCI
registry (labkit/cloud/registry) serves the same images over the distribution API.
"""
