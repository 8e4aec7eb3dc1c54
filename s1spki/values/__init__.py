"""Values every layer shares: canonical JSON, UTC time, EUI-64 entity ids, a key's identity."""
