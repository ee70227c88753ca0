"""AWS App Runner in the local cloud (moto has none): `models.py` state and rules, `validation.py`
what CreateService/UpdateService check, `deployer.py` each operation carried out on the runtime (the
service's container, its health check, the URL's ingress route), `service_logs.py` the service and
application log groups in CloudWatch Logs, `api.py` the AWS JSON 1.0 protocol, `errors.py`.
docs/fidelity.md ("App Runner") says what is emulated and what is not.
"""
