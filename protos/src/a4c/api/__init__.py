"""Generated gRPC and protobuf code for the a4c.api.<service>.v1 contracts (see protos/a4c/api)."""
