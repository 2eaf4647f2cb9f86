"""The operators' console: server-rendered pages over the provisioning gRPC API (see README.md)."""
