"""Local emulators of Cloudflare, Zitadel and DNS (filled by the DNS and identity issues)."""
