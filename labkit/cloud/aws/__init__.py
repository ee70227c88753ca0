"""This project's own emulation of AWS services where moto is not faithful enough (one folder per
service: models.py = state and rules, api.py = the wire protocol, errors.py = the errors)."""
