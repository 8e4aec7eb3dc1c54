"""An EST server of the test's CA home on 127.0.0.1 (real TLS, real SoftHSM, gunicorn workers), and the clients:
curl, openssl and s1spki's own."""

from __future__ import annotations

import base64
import datetime
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.conftest import ACME, ACME_ARO, ACME_EUI, REPO, CaHome, Result, s1spki_argv

HOST = "127.0.0.1"  # the only address these tests talk to
START_LIMIT_S = 60


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def make_tls_files(directory: Path) -> tuple[Path, Path, Path]:
    """A throwaway TLS CA and the server's certificate for 127.0.0.1 (the EST server's TLS identity is not an
    S1SPKI certificate): (trust anchor, server certificate, server key)."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(_name("test TLS CA")).issuer_name(_name("test TLS CA"))
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=2))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder().subject_name(_name("localhost")).issuer_name(ca.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(__import__("ipaddress").ip_address(HOST))]),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))
    paths = directory / "tls-ca.pem", directory / "tls-server.pem", directory / "tls-server.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    os.chmod(paths[2], 0o600)
    return paths


@dataclass
class EstServer:
    ca: CaHome
    url: str
    trust: Path  # the server's TLS trust anchor
    process: subprocess.Popen[str]
    log: Path

    @property
    def base(self) -> str:
        return f"{self.url}/.well-known/est"

    def curl(self, path: str, *args: str, timeout: int = 120) -> tuple[int, str, str]:
        """curl against the server: (HTTP status, body, stderr); status 0 when no HTTP answer came."""
        out = self.ca.work / f"curl-{time.monotonic_ns()}.out"
        done = subprocess.run(["curl", "-sS", "--cacert", str(self.trust), "-o", str(out), "-w", "%{http_code}",
                               "-D", "-", *args, f"{self.base}/{path}" if not path.startswith("/") else
                               f"{self.url}{path}"], capture_output=True, text=True, timeout=timeout)
        lines = done.stdout.strip().splitlines()
        status = int(lines[-1]) if lines and lines[-1].isdigit() else 0
        body = out.read_text(errors="replace") if out.exists() else ""
        return status, body, done.stdout + done.stderr

    def client(self, *args: str, timeout: int = 120) -> Result:
        """s1spki's own component client (no CA home)."""
        proc = subprocess.run([sys.executable, "-m", "s1spki", *args], capture_output=True, text=True,
                              timeout=timeout, stdin=subprocess.DEVNULL, cwd=self.ca.work, env=client_env())
        return Result(proc.returncode, proc.stdout, proc.stderr)

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


def client_env() -> dict[str, str]:
    """A component's environment: this checkout's s1spki, nothing of a CA home."""
    return {**{k: v for k, v in os.environ.items() if not k.startswith("S1SPKI_")},
            "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}


def wait_healthy(url: str, trust: Path, limit: float = START_LIMIT_S, process: subprocess.Popen[str] | None = None
                 ) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise AssertionError(f"the EST server exited with {process.returncode}")
        done = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--cacert", str(trust),
                               f"{url}/health"], capture_output=True, text=True, timeout=30)
        if done.stdout.strip() == "200":
            return
        time.sleep(0.2)
    raise AssertionError(f"the EST server at {url} was not healthy within {limit} s")


def start_server(ca: CaHome, workers: int = 2, seams: bool = False, env: dict[str, str] | None = None) -> EstServer:
    trust, cert, key = make_tls_files(ca.work)
    port = free_port()
    log = ca.work / f"est-{port}.log"
    handle = log.open("w")
    process = subprocess.Popen(
        s1spki_argv(ca.home, "est", "serve", "--listen", f"{HOST}:{port}", "--tls-cert", str(cert), "--tls-key",
                    str(key), "--workers", str(workers), seams=seams),
        stdout=handle, stderr=subprocess.STDOUT, text=True, env={**os.environ, **(env or {})}, cwd=REPO)
    server = EstServer(ca, f"https://{HOST}:{port}", trust, process, log)
    try:
        wait_healthy(server.url, trust, process=process)
    except AssertionError:
        stop_server(server)
        raise AssertionError(f"server did not start:\n{server.log_text()}") from None
    return server


def stop_server(server: EstServer) -> int:
    if server.process.poll() is None:
        server.process.send_signal(signal.SIGTERM)
        try:
            server.process.wait(timeout=40)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait(timeout=10)
    return server.process.returncode


@pytest.fixture
def est(ca: CaHome) -> Iterator[EstServer]:
    server = start_server(ca)
    yield server
    stop_server(server)


def authorise(ca: CaHome, *, key_usage: str = "digitalSignature", eui64: str = ACME_EUI, approve: bool = True,
              valid_for: str | None = None, cn: str | None = None, org: str = ACME, role: str = "supplier",
              aro: str = ACME_ARO) -> tuple[int, Path]:
    """An enrolment authorisation made by carol (RA manager), approved by dave (RA officer): (id, secret file)."""
    secret = ca.work / f"secret-{time.monotonic_ns()}"
    args = ["--json", "est", "authorise", "--org", org, "--aro", aro, "--role", role, "--key-usage", key_usage,
            "--eui64", eui64, "--secret-out", str(secret), "--as", "carol"]
    if valid_for:
        args += ["--valid-for", valid_for]
    if cn:
        args += ["--cn", cn]
    made = ca.ok(*args).json()
    if approve:
        ca.ok("request", "approve", str(made["id"]), "--as", "dave")
    return int(made["id"]), secret


def openssl_csr(ca: CaHome, name: str, *, curve: str = "prime256v1", subj: str = "/CN=component") -> tuple[Path, Path]:
    """A key and a base64 DER CSR made by openssl, as RFC 7030's recipes send it: (key, csr.b64)."""
    key, der, b64 = ca.work / f"{name}.key", ca.work / f"{name}.csr.der", ca.work / f"{name}.csr.b64"
    subprocess.run(["openssl", "ecparam", "-name", curve, "-genkey", "-noout", "-out", str(key)], check=True,
                   capture_output=True)
    subprocess.run(["openssl", "req", "-new", "-key", str(key), "-subj", subj, "-outform", "DER", "-out", str(der)],
                   check=True, capture_output=True)
    b64.write_text(base64.encodebytes(der.read_bytes()).decode("ascii"))
    return key, b64


def certs_of(ca: CaHome, body: str, name: str) -> list[str]:
    """openssl's reading of a certs-only CMS answer (base64): the PEM certificates it holds."""
    der = ca.work / f"{name}.p7"
    der.write_bytes(base64.b64decode("".join(body.split())))
    done = subprocess.run(["openssl", "pkcs7", "-inform", "DER", "-in", str(der), "-print_certs"], capture_output=True,
                          text=True, check=True)
    return ["-----BEGIN CERTIFICATE-----" + block for block in done.stdout.split("-----BEGIN CERTIFICATE-----")[1:]]


def write_pem(ca: CaHome, pem: str, name: str) -> Path:
    path = ca.work / name
    path.write_text(pem.split("-----END CERTIFICATE-----")[0] + "-----END CERTIFICATE-----\n")
    return path


def audit_tail(ca: CaHome, since: int) -> list[dict[str, Any]]:
    return [{**r, "details": json.loads(r["details"])} for r in ca.audit()[since:]]


def adopt(ca: CaHome) -> None:
    ca.ok("policy", "adopt", "--as", "alice", "--as", "bob")


def set_policy(ca: CaHome, **est_settings: Any) -> None:
    """Change policy/policy.toml [est] in the home's copy and adopt it (dual control)."""
    path = ca.home / "policy" / "policy.toml"
    text = path.read_text()
    for key, value in est_settings.items():
        rendered = json.dumps(value)
        lines = [f"{key} = {rendered}" if line.startswith(f"{key} =") else line for line in text.splitlines()]
        text = "\n".join(lines) + "\n"
    path.write_text(text)
    adopt(ca)
