"""App Runner's errors: the codes of botocore's App Runner model, raised by models.py and turned into
AWS JSON 1.0 errors by api.py. App Runner's error shapes carry `Message` (capital M), so that is the
field sent; botocore reads either.

    AppRunnerError                 code                              HTTP
    ├── InvalidRequest             InvalidRequestException           400
    ├── ResourceNotFound           ResourceNotFoundException         400
    ├── InvalidState               InvalidStateException             400
    ├── QuotaExceeded              ServiceQuotaExceededException     400
    ├── InternalError              InternalServiceErrorException     500
    ├── Serialization              SerializationException            400 (body is not JSON)
    ├── UnknownOperation           UnknownOperationException         400
    └── NotEmulated                NotImplemented                    501 (an operation the local cloud lacks)

docs/fidelity.md ("App Runner") says which messages were seen from real App Runner and which were composed.
"""
from __future__ import annotations


class AppRunnerError(Exception):
    code = "InternalServiceErrorException"
    status = 400

    def __init__(self, text: str):
        super().__init__(text)
        self.text = text
        self.message = None            # the protocol's lower-case "message" is not App Runner's field
        self.extra = {"Message": text}


class InvalidRequest(AppRunnerError):
    code = "InvalidRequestException"


class ResourceNotFound(AppRunnerError):
    code = "ResourceNotFoundException"


class InvalidState(AppRunnerError):
    code = "InvalidStateException"


class QuotaExceeded(AppRunnerError):
    code = "ServiceQuotaExceededException"


class InternalError(AppRunnerError):
    code = "InternalServiceErrorException"
    status = 500


class Serialization(AppRunnerError):
    code = "SerializationException"


class UnknownOperation(AppRunnerError):
    """What AWS's JSON front end answers for an X-Amz-Target it does not know."""
    code = "UnknownOperationException"

    def __init__(self):
        super().__init__("")
        self.extra = {}


class NotEmulated(AppRunnerError):
    code = "NotImplemented"
    status = 501  # botocore does not retry it, and it is not mistaken for the student's error

    def __init__(self, operation: str):
        super().__init__(f"The labkit local cloud does not emulate the App Runner operation {operation} "
                         f"(docs/fidelity.md lists what it does)")


def not_found(arn: str) -> ResourceNotFound:
    # Composed in the words of the API reference's ResourceNotFoundException ("A resource doesn't exist
    # for the specified Amazon Resource Name (ARN) in your Amazon Web Services account.").
    return ResourceNotFound(f"A resource doesn't exist for the specified Amazon Resource Name (ARN) in your "
                            f"Amazon Web Services account: {arn}")


def constraint(value, where: str, rule: str) -> InvalidRequest:
    """AWS's request-validation wording ("1 validation error detected: ..."), composed for App Runner."""
    return InvalidRequest(f"1 validation error detected: Value '{value}' at '{where}' failed to satisfy "
                          f"constraint: {rule}")
