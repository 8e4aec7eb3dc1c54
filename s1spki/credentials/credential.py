"""Operators' credentials: a P-256 key in an encrypted PEM file or on a PKCS#11 token.

A credential is described by `<name>.credential.toml` in one of the folders the CA home's config names
(or `$S1SPKI_CREDENTIALS`): the key's location and where its passphrase or PIN comes from, never the
secret itself.

A credential's files stay inside its folder: an operator's name is a plain file name (never a path), and a
descriptor, key file or SoftHSM config that resolves outside the folder (a symlink pointing out counts) is
refused, so nobody can make s1spki read a credential, or load what it names, from anywhere else.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import tomli_w
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from s1spki.errors import AuthError, Refused, UsageError
from s1spki.home.secret_source import SecretSource
from s1spki.hsm import Hsm, HsmSettings, find_softhsm_module
from s1spki.hsm.softhsm import check_softhsm_conf
from s1spki.values.datafile import DataFolder
from s1spki.values.names import is_operator_name, shown

DESCRIPTOR_SUFFIX = ".credential.toml"


@dataclass(frozen=True)
class Credential:
    """Where one operator's key is and how to unlock it."""

    operator: str
    kind: str  # "file" | "pkcs11"
    secret: SecretSource
    key_file: Path | None = None
    module: str | None = None
    token_label: str | None = None
    key_label: str | None = None
    softhsm_conf: Path | None = None

    def private_key(self) -> ec.EllipticCurvePrivateKey:
        """Unlock the key (reads the passphrase or PIN); wrong secret is an AuthError (exit 4)."""
        if self.kind == "pkcs11":
            pin = self.secret.read(f"the PIN of token {self.token_label!r} for operator {self.operator}")
            hsm = Hsm.connect(HsmSettings(self.module or "", self.token_label or "", pin, self.softhsm_conf))
            return hsm.signing_key(self.key_label or "")
        assert self.key_file is not None
        passphrase = self.secret.read(f"the passphrase of {self.operator}'s key")
        try:
            # resolved when the descriptor was read; a symlink put in its place since is not followed
            with os.fdopen(os.open(self.key_file, os.O_RDONLY | os.O_NOFOLLOW), "rb") as handle:
                data = handle.read()
        except OSError as exc:
            raise AuthError(f"cannot read {self.operator}'s key file {self.key_file}: {exc.strerror}") from None
        try:
            key = serialization.load_pem_private_key(data, passphrase.encode("utf-8"))
        except (ValueError, TypeError):
            raise AuthError(f"cannot unlock {self.operator}'s key {self.key_file}: wrong passphrase or not an "
                            "encrypted PEM key") from None
        if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
            raise AuthError(f"{self.operator}'s key {self.key_file} is not a P-256 key")
        return key


def credential_dirs(configured: tuple[Path, ...]) -> tuple[Path, ...]:
    extra = tuple(Path(p) for p in os.environ.get("S1SPKI_CREDENTIALS", "").split(os.pathsep) if p)
    return extra + configured


def find_credential(operator: str, dirs: tuple[Path, ...]) -> Credential:
    if not is_operator_name(operator):
        raise AuthError(f"no credential is looked up for {shown(operator)}: an operator's name is ASCII letters, "
                        "digits, '.', '-' or '_', starting with a letter or digit (a file name, never a path)")
    for directory in credential_dirs(dirs):
        path = directory / f"{operator}{DESCRIPTOR_SUFFIX}"
        if path.is_file():
            if _inside(directory, path) is None:
                raise AuthError(f"{path} resolves to {path.resolve()}, outside the credential folder {directory}: "
                                f"refused; keep {operator}'s credential in the folder itself")
            return _read_descriptor(path, operator)
    raise AuthError(f"no credential for operator {operator!r}: expected {operator}{DESCRIPTOR_SUFFIX} in "
                    f"{', '.join(str(d) for d in credential_dirs(dirs))} (see `s1spki operator keygen`)")


def _read_descriptor(path: Path, operator: str) -> Credential:
    from s1spki.credentials.descriptor_schema import DescriptorFile  # pydantic only when a descriptor is read

    folder = DataFolder(path.parent, f"credential of {operator}")
    doc = folder.read(path.name, DescriptorFile)
    if doc is not None and doc.operator != operator:
        folder.refuse(path.name, "operator", f"names {doc.operator!r}, not {operator!r}")
    folder.raise_if_any()
    assert doc is not None
    if doc.secret_file:
        secret = SecretSource("file", str(_relative(path, doc.secret_file)))
    elif doc.secret_env:
        secret = SecretSource("env", doc.secret_env)
    else:
        secret = SecretSource("prompt")
    return Credential(operator, doc.type, secret, _beside(path, "key_file", doc.key_file),
                      doc.module, doc.token_label, doc.key_label, _beside(path, "softhsm_conf", doc.softhsm_conf))


def _relative(descriptor: Path, value: str) -> Path:
    candidate = Path(value).expanduser()
    return candidate if candidate.is_absolute() else descriptor.parent / candidate


def _inside(folder: Path, candidate: Path) -> Path | None:
    """`candidate` with every symlink resolved, if that lies inside `folder` (resolved too); else None."""
    resolved, root = candidate.resolve(), folder.resolve()
    return resolved if resolved != root and resolved.is_relative_to(root) else None


def _beside(descriptor: Path, key: str, value: str | None) -> Path | None:
    """A file a descriptor names, resolved; refused (exit 4) when it resolves outside the descriptor's folder."""
    if value is None:
        return None
    resolved = _inside(descriptor.parent, _relative(descriptor, value))
    if resolved is None:
        raise AuthError(f"{descriptor}: {key}: {shown(value)} resolves outside the credential folder "
                        f"{descriptor.parent}: refused (a credential's files stay beside its descriptor)")
    return resolved


def _descriptor_text(operator: str, kind: str, secret: SecretSource, extra: dict[str, str]) -> str:
    document = {"operator": operator, "type": kind, **extra}
    if secret.kind == "file":
        document["secret_file"] = secret.ref
    elif secret.kind == "env":
        document["secret_env"] = secret.ref
    # values are written by the TOML library, so a quote or a newline in a name or path cannot break the file
    return "# s1spki operator credential: where the key is, where its secret comes from.\n" + tomli_w.dumps(document)


def _check_new(out_dir: Path, operator: str, suffixes: tuple[str, ...]) -> Path:
    """The new descriptor's path, once the name is a plain file name and none of the files to write exists."""
    if not is_operator_name(operator):
        raise UsageError(f"operator name {shown(operator)} must be ASCII letters, digits, '.', '-' or '_', starting "
                         "with a letter or digit: a credential is a file of its folder, never a path")
    descriptor = out_dir / f"{operator}{DESCRIPTOR_SUFFIX}"
    if os.path.lexists(descriptor):
        raise Refused(f"{descriptor} already exists: refusing to replace {operator}'s credential")
    for suffix in suffixes:
        if os.path.lexists(out_dir / f"{operator}{suffix}"):
            raise Refused(f"{out_dir / f'{operator}{suffix}'} already exists: refusing to replace it")
    out_dir.mkdir(parents=True, exist_ok=True)
    for other in out_dir.glob(f"*{DESCRIPTOR_SUFFIX}"):
        existing = other.name[: -len(DESCRIPTOR_SUFFIX)]
        if existing.casefold() == operator.casefold():
            raise Refused(f"{other} already exists and differs from {operator!r} only in case: choose a name of "
                          "its own")
    return descriptor


@contextlib.contextmanager
def _new_files() -> Iterator[list[Path]]:
    """The files a keygen writes: if it fails half-way, those it wrote are removed again."""
    written: list[Path] = []
    try:
        yield written
    except BaseException:
        for path in reversed(written):
            path.unlink(missing_ok=True)
        raise


def _create(written: list[Path], path: Path, data: bytes, mode: int = 0o644) -> None:
    """Write a new file; never replace one, never follow a symlink put in its place."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode)
    written.append(path)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def keygen_file(operator: str, out_dir: Path, secret: SecretSource) -> tuple[Path, ec.EllipticCurvePublicKey]:
    """Make a P-256 key in an encrypted PEM file; write its public key and descriptor beside it."""
    descriptor = _check_new(out_dir, operator, (".key.pem", ".pub.pem"))
    passphrase = secret.read(f"a new passphrase for {operator}'s key", error=UsageError, confirm=True)
    if len(passphrase) < 8:
        raise UsageError(f"the passphrase for {operator}'s key must have at least 8 characters")
    key = ec.generate_private_key(ec.SECP256R1())
    key_path = out_dir / f"{operator}.key.pem"
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.BestAvailableEncryption(passphrase.encode("utf-8")))
    with _new_files() as written:
        _create(written, key_path, pem, 0o600)
        _write_public(written, out_dir, operator, key.public_key())
        _create(written, descriptor,
                _descriptor_text(operator, "file", secret, {"key_file": key_path.name}).encode("utf-8"))
    return descriptor, key.public_key()


def keygen_pkcs11(operator: str, out_dir: Path, secret: SecretSource, module: str, token_label: str,
                  softhsm_conf: Path | None) -> tuple[Path, ec.EllipticCurvePublicKey]:
    """Make a P-256 key on a PKCS#11 token (sensitive, non-extractable, sign-only).

    A SoftHSM config given is copied beside the descriptor (`<name>.softhsm2.conf`), which names the copy: a
    credential's files stay in its folder."""
    conf_suffix = ".softhsm2.conf"
    descriptor = _check_new(out_dir, operator, (".pub.pem", *((conf_suffix,) if softhsm_conf else ())))
    module_path = find_softhsm_module() if module == "softhsm" else module
    conf_text = None
    if softhsm_conf is not None:
        check_softhsm_conf(str(softhsm_conf))  # it names an existing token directory (it would fall back otherwise)
        conf_text = softhsm_conf.read_bytes()
    pin = secret.read(f"the PIN of token {token_label!r}")
    with _new_files() as written:
        conf_copy = None
        if conf_text is not None:
            conf_copy = out_dir / f"{operator}{conf_suffix}"
            _create(written, conf_copy, conf_text, 0o600)
        hsm = Hsm.connect(HsmSettings(module_path, token_label, pin, conf_copy))
        key_label = f"s1spki-operator-{operator}"
        hsm.generate_ec_key(key_label)
        public = hsm.public_key(key_label)
        _write_public(written, out_dir, operator, public)
        extra = {"module": module_path, "token_label": token_label, "key_label": key_label}
        if conf_copy is not None:
            extra["softhsm_conf"] = conf_copy.name
        _create(written, descriptor, _descriptor_text(operator, "pkcs11", secret, extra).encode("utf-8"))
    return descriptor, public


def _write_public(written: list[Path], out_dir: Path, operator: str, public: ec.EllipticCurvePublicKey) -> None:
    pem = public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    _create(written, out_dir / f"{operator}.pub.pem", pem)


def load_public_key(path: Path) -> ec.EllipticCurvePublicKey:
    """An operator's public key file given to `init` or `operator add`: P-256 only."""
    try:
        key = serialization.load_pem_public_key(path.read_bytes())
    except OSError as exc:
        raise UsageError(f"cannot read public key {path}: {exc.strerror}") from None
    except ValueError:
        raise Refused(f"{path} is not a PEM public key") from None
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
        raise Refused(f"{path} is not a P-256 public key (operators' credentials are P-256)")
    return key
