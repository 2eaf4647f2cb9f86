"""DNS service: Cloudflare DNS records and propagation checks."""
