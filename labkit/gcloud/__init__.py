"""`labkit gcloud ...`: the lesson's gcloud commands against the local cloud, for machines without
gcloud (it is not on PyPI, and Binder has none). A thin front over the official Python clients
(labkit.gcp), with gcloud's flags, wording, output formats and exit codes:

    labkit gcloud services enable run.googleapis.com artifactregistry.googleapis.com
    labkit gcloud config set project labkit-project | config list | config get project
    labkit gcloud artifacts repositories create my-repo --repository-format=docker --location=asia-northeast3
    labkit gcloud auth configure-docker asia-northeast3-docker.pkg.dev
    labkit gcloud artifacts docker images list asia-northeast3-docker.pkg.dev/labkit-project/my-repo
    labkit gcloud run deploy my-service --image=... --region=asia-northeast3 --allow-unauthenticated
    labkit gcloud run services describe my-service --format='value(status.url)'
    labkit gcloud run services update-traffic my-service --to-revisions=A=10,B=90
    labkit gcloud run revisions list --service=my-service

One module per command group (config, services, auth, artifacts, run); cli.py dispatches and
parses the flags every command shares; formats.py renders --format. The Google clients are
imported only by the commands that call them (they cost about a second to import).
"""
