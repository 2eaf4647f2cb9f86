"""Service kit shared by the gRPC services: settings, server, auth, logging, error details."""
