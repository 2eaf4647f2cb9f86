"""Local emulators of Cloudflare, Zitadel and DNS."""
