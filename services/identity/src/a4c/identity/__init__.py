"""Identity service over Zitadel."""
