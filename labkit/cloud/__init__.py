"""The local cloud: one process serving the AWS API (moto + this project's fidelity layer)
and the OCI registry on 127.0.0.1. Server code lives here; clients use labkit.cloud.process."""
