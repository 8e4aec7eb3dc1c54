"""s1spki: certificate authority and registration tooling for the FOC S1SPKI."""

__version__ = "0.1.0"
