"""The CA home's own files: `s1spki.toml`, where secrets come from, and the shipped data folders."""
