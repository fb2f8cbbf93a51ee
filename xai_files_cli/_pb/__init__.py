"""Generated protobuf and gRPC code for package xai_api (see protos/generate.py). Do not edit."""
