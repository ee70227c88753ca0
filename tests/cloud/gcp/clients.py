"""The official Google clients pointed at a test cloud, as a student's kernel makes them
(labkit/gcp.py): gRPC on the cloud's port, REST under /gcp/<api>."""
from __future__ import annotations

import grpc
from google.api_core.client_options import ClientOptions
from google.auth.credentials import AnonymousCredentials


def grpc_client(client_class, port: int):
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    return client_class(transport=client_class.get_transport_class("grpc")(channel=channel))


def rest_client(client_class, port: int, api: str):
    return client_class(credentials=AnonymousCredentials(), transport="rest",
                        client_options=ClientOptions(api_endpoint=f"http://127.0.0.1:{port}/gcp/{api}"))
