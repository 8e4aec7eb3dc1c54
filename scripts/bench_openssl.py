"""The yardsticks of scripts/bench: `openssl ca` run one process per CSR, and `openssl ca -gencrl` over a CA
database of revoked serials, made and timed by the bench itself in the same run.

The openssl CA is as close to s1spki's end-entity profile as `openssl ca` allows: an EC P-256 CA, ECDSA with
SHA-256, the subject from the request (OU role code and CN), keyUsage digitalSignature (critical),
subjectKeyIdentifier and authorityKeyIdentifier (openssl makes a 20-byte key identifier, not the profile's
8-byte one), the policy OID as a critical certificatePolicies, and ten years' validity. Its key is a file: it
has no HSM, no lint, no registry, no approvals and no audit trail.
"""

from __future__ import annotations

import datetime
import subprocess
import time
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

POLICY_OID = "1.2.826.0.1.8641679.1.2.1.4"

CONFIG = """\
[ca]
default_ca = bench

[bench]
dir = {dir}
database = $dir/index.txt
new_certs_dir = $dir/newcerts
certificate = $dir/ca.pem
private_key = $dir/ca.key
rand_serial = yes
crlnumber = $dir/crlnumber
default_md = sha256
default_days = 3652
default_crl_days = 1
policy = subject
unique_subject = no
copy_extensions = none
preserve = yes
x509_extensions = end_entity
crl_extensions = crl

[subject]
organizationalUnitName = supplied
commonName = supplied

[end_entity]
keyUsage = critical, digitalSignature
subjectKeyIdentifier = hash
certificatePolicies = critical, {policy}
authorityKeyIdentifier = keyid:always

[crl]
authorityKeyIdentifier = keyid:always
"""


def _ca(directory: Path) -> None:
    """A software CA for openssl: key and self-signed certificate, an empty database, the config."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "07"),
                      x509.NameAttribute(NameOID.COMMON_NAME, "openssl bench CA")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=7400))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "newcerts").mkdir(exist_ok=True)
    (directory / "ca.key").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                         serialization.NoEncryption()))
    (directory / "ca.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (directory / "index.txt").write_text("")
    (directory / "crlnumber").write_text("01\n")
    (directory / "openssl.cnf").write_text(CONFIG.format(dir=directory, policy=POLICY_OID))


def ca_per_s(directory: Path, count: int) -> float:
    """Certificates per second from `openssl ca`, one process per CSR (the CSRs made before the clock starts)."""
    _ca(directory)
    csrs = []
    for i in range(count):
        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "02"),
                             x509.NameAttribute(NameOID.COMMON_NAME, f"90B3D51F3001{i:04X}")])
        csr = x509.CertificateSigningRequestBuilder().subject_name(subject).sign(key, hashes.SHA256())
        path = directory / f"req{i}.csr"
        path.write_bytes(csr.public_bytes(serialization.Encoding.PEM))
        csrs.append(path)
    config = str(directory / "openssl.cnf")
    start = time.perf_counter()
    for i, csr in enumerate(csrs):
        subprocess.run(["openssl", "ca", "-batch", "-notext", "-config", config, "-in", str(csr),
                        "-out", str(directory / f"cert{i}.pem")], check=True, capture_output=True)
    return count / (time.perf_counter() - start)


def gencrl_seconds(directory: Path, serials: list[str], revoked_at: datetime.datetime) -> float:
    """Seconds for `openssl ca -gencrl` over a database holding `serials` (hex) as revoked certificates."""
    _ca(directory)
    stamp = revoked_at.strftime("%y%m%d%H%M%SZ")
    with (directory / "index.txt").open("w") as index:
        for i, serial in enumerate(serials):
            index.write(f"R\t351231235959Z\t{stamp},keyCompromise\t{serial}\tunknown\t/OU=02/CN=bench{i}\n")
    start = time.perf_counter()
    subprocess.run(["openssl", "ca", "-gencrl", "-batch", "-config", str(directory / "openssl.cnf"),
                    "-out", str(directory / "crl.pem")], check=True, capture_output=True)
    return time.perf_counter() - start
