"""Event store access module: the only code that writes SQL (filled by the event store issue)."""
