"""DNS service: Cloudflare DNS records and propagation checks (filled by the DNS service issue)."""
