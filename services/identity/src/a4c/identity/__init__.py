"""Identity service over Zitadel (filled by the identity service issue)."""
