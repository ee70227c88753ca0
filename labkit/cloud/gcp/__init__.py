"""GCP in the local cloud: the APIs the official Google clients call, over gRPC and REST on the
cloud's one port (hosting.py, grpc_server.py, rest.py), one folder per API (artifactregistry/, run/)."""
