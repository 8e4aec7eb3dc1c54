"""The signed files carried between a root home and an online home under ceremony: the issuing CA's request,
the root's response, the ARL (`s1spki.bundles.file`)."""

from s1spki.bundles.file import Bundle, bundle_digest, read_bundle, write_bundle

__all__ = ["Bundle", "bundle_digest", "read_bundle", "write_bundle"]
