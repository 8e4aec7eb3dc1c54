"""SoftHSM2 helpers: find the module, and make a private token under the CA home.

python-pkcs11 cannot initialise a token, so a short-lived child process does it through PKCS#11
(`token_init.py`: C_InitToken, then C_InitPIN), with SOFTHSM2_CONF set in the child's environment only
(this process's SoftHSM, if loaded, keeps its own configuration). The PINs reach the child through its
stdin pipe, never its command line or environment: any local user can read those (`ps`, /proc).
"""

from __future__ import annotations

import glob
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from s1spki.errors import HsmError, Refused
from s1spki.home.shipped import data_dir
from s1spki.hsm.settings import TOKEN_LABEL_MAX_BYTES

TEMPLATE_NAME = "softhsm2.conf.template"
TOKEN_DIR_PLACEHOLDER = "@TOKEN_DIR@"

# Distribution layouts seen in the wild; the multiarch directory is globbed, never hard-coded.
_MODULE_CANDIDATES = (
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/*/softhsm/libsofthsm2.so",
    "/usr/lib64/softhsm/libsofthsm2.so",
    "/usr/lib64/pkcs11/libsofthsm2.so",
    "/usr/lib/pkcs11/libsofthsm2.so",
    "/usr/lib/*/pkcs11/libsofthsm2.so",
    "/usr/local/lib/softhsm/libsofthsm2.so",
    "/opt/homebrew/lib/softhsm/libsofthsm2.so",
)
# The system-wide token store: a CA's token must never land there.
_SYSTEM_TOKEN_DIRS = (Path("/var/lib/softhsm"),)
_SOFTHSM_PIN_RANGE = (4, 255)  # SoftHSM's ulMinPinLen and ulMaxPinLen
_UTIL_TIMEOUT_S = 60
_TOKEN_INIT_REFUSED = 3  # token_init.py's exit code when the label is taken


def find_softhsm_module() -> str:
    """Return the path of libsofthsm2.so; HsmError saying to install softhsm2 if there is none."""
    for pattern in _MODULE_CANDIDATES:
        for path in sorted(glob.glob(pattern)):
            if os.path.isfile(path):
                return path
    raise HsmError(
        "SoftHSM2 PKCS#11 module libsofthsm2.so not found (looked in "
        + ", ".join(_MODULE_CANDIDATES)
        + "): install the softhsm2 package (Debian/Ubuntu: apt install softhsm2; "
        "Fedora/RHEL: dnf install softhsm)",
        looked_in=list(_MODULE_CANDIDATES),
    )


def _softhsm_util() -> str:
    util = shutil.which("softhsm2-util")
    if util is None:
        raise HsmError("softhsm2-util not found on PATH: install the softhsm2 package")
    return util


def write_softhsm_conf(conf_path: Path, token_dir: Path) -> None:
    """Write a SoftHSM2 configuration whose token directory is `token_dir` (absolute)."""
    template = (data_dir("hsm_config") / TEMPLATE_NAME).read_text(encoding="utf-8")
    if TOKEN_DIR_PLACEHOLDER not in template:
        raise HsmError(f"{TEMPLATE_NAME} lacks the {TOKEN_DIR_PLACEHOLDER} placeholder")
    conf_path.parent.mkdir(parents=True, exist_ok=True)
    conf_path.write_text(template.replace(TOKEN_DIR_PLACEHOLDER, str(token_dir)), encoding="utf-8")


_TOKENDIR_LINE = re.compile(r"^\s*directories\.tokendir\s*=\s*(\S.*?)\s*$", re.MULTILINE)


def check_softhsm_conf(conf: str) -> None:
    """Refuse a SoftHSM config that SoftHSM would silently replace by the system token store.

    SoftHSM 2.6 falls back to /var/lib/softhsm/tokens when its config is unreadable or names no token
    directory, which would put a CA's keys outside its home; so the home's config is checked first.
    """
    try:
        text = Path(conf).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise HsmError(f"SoftHSM config SOFTHSM2_CONF={conf} cannot be read ({type(exc).__name__}): it must name "
                       "an existing directories.tokendir; fix it or `softhsm_conf` in s1spki.toml", conf=conf) from None
    match = _TOKENDIR_LINE.search(text)
    token_dir = Path(match.group(1)) if match else None
    if token_dir is None or not token_dir.is_absolute() or not token_dir.is_dir():
        raise HsmError(f"SoftHSM config SOFTHSM2_CONF={conf} names no existing absolute directories.tokendir: "
                       "fix the config or restore the token folder", conf=conf)


def _check_token_dir(token_dir: Path) -> Path:
    if not token_dir.is_absolute():
        raise Refused(
            f"the SoftHSM token directory must be an absolute path, not {token_dir}", field="token_dir"
        )
    if "\n" in str(token_dir) or "\r" in str(token_dir):
        raise Refused("the SoftHSM token directory must not contain a line break", field="token_dir")
    resolved = token_dir.resolve()
    for system in _SYSTEM_TOKEN_DIRS:
        if resolved == system or system in resolved.parents:
            raise Refused(
                f"refusing to put a CA token in the system's SoftHSM store {system}: "
                "use a directory under the CA home",
                field="token_dir",
            )
    return token_dir


def _check_pin(pin: str, which: str) -> None:
    low, high = _SOFTHSM_PIN_RANGE
    if not isinstance(pin, str) or not low <= len(pin) <= high:
        raise Refused(f"the {which} must be {low} to {high} characters long", field=which.replace(" ", "_"))
    if any(ch in pin for ch in "\0\n\r"):
        raise Refused(f"the {which} must not contain NUL or line breaks", field=which.replace(" ", "_"))


def _scrub(text: str, *secrets: str) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text.strip()


def _child_env(conf_path: Path) -> dict[str, str]:
    """A child's whole environment: the SoftHSM config and PATH, nothing of ours (a PIN variable included)."""
    return {"SOFTHSM2_CONF": str(conf_path), "PATH": os.environ.get("PATH", os.defpath)}


def _run_util(args: list[str], conf_path: Path) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            [_softhsm_util(), *args],
            env=_child_env(conf_path),
            stdin=subprocess.DEVNULL,  # softhsm2-util prompts on a bad PIN; never let it wait for a terminal
            capture_output=True,
            text=True,
            timeout=_UTIL_TIMEOUT_S,
            check=False,
        )
    # Not chained: the exceptions carry the child's command line and output.
    except subprocess.TimeoutExpired:
        raise HsmError(
            f"softhsm2-util {args[0]} did not finish within {_UTIL_TIMEOUT_S} s (SOFTHSM2_CONF={conf_path})"
        ) from None
    except OSError as exc:
        raise HsmError(f"cannot run softhsm2-util: {exc.strerror}") from None


def softhsm_token_labels(conf_path: Path) -> list[str]:
    """Labels of the initialised tokens under the configuration `conf_path`."""
    result = _run_util(["--show-slots"], conf_path)
    if result.returncode != 0:
        raise HsmError(
            f"softhsm2-util --show-slots failed with SOFTHSM2_CONF={conf_path}: "
            f"{_scrub(result.stderr or result.stdout) or 'no message'}",
            softhsm2_conf=str(conf_path),
        )
    labels = []
    for line in result.stdout.splitlines():
        match = re.match(r"^\s+Label:\s(.*)$", line)
        if match and match.group(1).strip():
            labels.append(match.group(1).strip())
    return labels


def create_softhsm_token(conf_path: Path, token_dir: Path, label: str, user_pin: str, so_pin: str) -> None:
    """Write `conf_path` for a private token store at `token_dir` and initialise token `label` there."""
    conf_path = Path(conf_path).absolute()
    token_dir = _check_token_dir(Path(token_dir))
    # blank padded on the token: surrounding spaces would not survive; a control character has no place in it
    if (not isinstance(label, str) or not label.strip() or label != label.strip() or not label.isprintable()
            or len(label.encode("utf-8")) > TOKEN_LABEL_MAX_BYTES):
        raise Refused(f"a token label must be 1 to {TOKEN_LABEL_MAX_BYTES} bytes of UTF-8, printable, without "
                      "surrounding spaces", field="label")
    _check_pin(user_pin, "user PIN")
    _check_pin(so_pin, "SO PIN")

    # SoftHSM does not create the token directory; keep it private to the CA's account.
    try:
        token_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(token_dir, 0o700)
        write_softhsm_conf(conf_path, token_dir)
    except OSError as exc:
        raise HsmError(
            f"cannot prepare the SoftHSM token store: {exc.filename or token_dir}: {exc.strerror}",
            token_dir=str(token_dir),
        ) from exc

    result = _init_token(find_softhsm_module(), label, conf_path, user_pin, so_pin)
    if result.returncode == _TOKEN_INIT_REFUSED:  # it looks at every token's label first
        raise Refused(
            f"a SoftHSM token labelled '{label}' already exists in {token_dir}", field="label", label=label
        )
    if result.returncode != 0:
        escaped = [json.dumps(pin)[1:-1] for pin in (user_pin, so_pin)]  # as they travelled on stdin
        lines = _scrub(result.stderr or result.stdout, user_pin, so_pin, *escaped).splitlines()
        raise HsmError(
            f"SoftHSM could not initialise token '{label}' in {token_dir} "
            f"(exit {result.returncode}): {lines[-1].strip() if lines else 'no message'}",
            label=label,
            softhsm2_conf=str(conf_path),
        )


def _token_init_argv() -> list[str]:
    """How the token initialiser is started: this Python, isolated mode (no PYTHON* variable, no user site)."""
    return [sys.executable, "-I", str(Path(__file__).with_name("token_init.py"))]


def _init_token(module: str, label: str, conf_path: Path, user_pin: str,
                so_pin: str) -> subprocess.CompletedProcess[str]:
    """Run the token initialiser: module and label as arguments, the PINs on its stdin only."""
    pins = json.dumps({"so_pin": so_pin, "user_pin": user_pin})
    try:
        return subprocess.run([*_token_init_argv(), module, label], input=pins, env=_child_env(conf_path),
                              capture_output=True, text=True, timeout=_UTIL_TIMEOUT_S, check=False)
    # Not chained: the exceptions carry what the child was given and said.
    except subprocess.TimeoutExpired:
        raise HsmError(f"initialising token '{label}' did not finish within {_UTIL_TIMEOUT_S} s "
                       f"(SOFTHSM2_CONF={conf_path})") from None
    except OSError as exc:
        raise HsmError(f"cannot start the token initialiser: {exc.strerror}") from None
