"""Names and references people type into s1spki: organisations, SROs and AROs, their evidence references,
operators, and the common name signed into a certificate.

Each check is a pure function: it returns the value unchanged or raises UsageError (exit 2) with one line
that names the field, the limit and what was wrong. A value is shown escaped (`'\\u202e'`, `'\\n'`), never
raw, so a hostile name cannot drive the terminal that reads the message. Length limits are settings
(policy/policy.toml `[names]`); the callers pass them in.

Unicode: a name must already be in NFC; it is refused, not normalised. What is stored, signed, audited and
looked up is then exactly what was typed (lookups stay exact matches), and two stored names cannot differ
only by normalisation, since every stored name is NFC.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator

from s1spki.errors import UsageError

# Refused anywhere in a name: every "other" category (Cc controls, Cf format characters such as the bidi
# overrides U+202A..U+202E and the zero-width U+200B..U+200D, Cs surrogates, which is what undecodable bytes
# of a command line become, Co private use, Cn unassigned) and the line and paragraph separators.
_REFUSED_CATEGORIES = {"Cc": "a control character", "Cf": "a format character", "Cs": "an undecodable byte",
                       "Co": "a private-use character", "Cn": "an unassigned code point",
                       "Zl": "a line separator", "Zp": "a paragraph separator"}
# RFC 4514 2.4: the characters a distinguished name string escapes; none of them is allowed in a CN,
# so no CN can read as more than one attribute (`admin,OU=07`) in any DN string a tool prints.
RFC4514_SPECIALS = ',+"\\<>;='
UB_COMMON_NAME = 64  # RFC 5280 appendix A.1: ub-common-name INTEGER ::= 64, the ceiling of names.common_name
_OPERATOR = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_SHOWN_MAX = 48


def shown(value: str) -> str:
    """`value` quoted for a message: every non-printable character escaped, a long value cut short."""
    if len(value) <= _SHOWN_MAX:
        return repr(value)
    return f"{value[:_SHOWN_MAX]!r}... ({len(value)} characters)"


def _char(ch: str) -> str:
    name = unicodedata.name(ch, "")  # controls have no name in the Unicode database
    return f"U+{ord(ch):04X} {name}" if name else f"U+{ord(ch):04X}"


def _text_problems(value: str, limit: int | None) -> Iterator[str]:
    """What is wrong with `value` as one line of text a person gave: length, characters, NFC, spaces."""
    if limit is not None and not 1 <= len(value) <= limit:
        yield f"must have 1 to {limit} characters, not {len(value)}"
    for position, ch in enumerate(value, 1):
        category = unicodedata.category(ch)
        if category in _REFUSED_CATEGORIES:
            yield (f"must not contain control, format or separator characters: {_char(ch)} at position "
                   f"{position} is {_REFUSED_CATEGORIES[category]}")
            return  # the rest of the checks would only repeat it
    if not unicodedata.is_normalized("NFC", value):
        position = _not_nfc_at(value)
        yield (f"must be in Unicode normal form NFC: {_char(value[position - 1])} at position {position} is not "
               "(give it with precomposed characters)")
    if value and value.isspace():
        yield "must not be whitespace only"
    elif value and (value[0].isspace() or value[-1].isspace()):
        yield "must not begin or end with whitespace"


def _not_nfc_at(value: str) -> int:
    """The position (from 1) of the character that keeps `value` from NFC, found in one pass.

    From the first difference with the NFC form, the culprit is the first combining mark (it composes with
    or reorders around what precedes it) or a character NFC replaces on its own (U+212B ANGSTROM SIGN)."""
    nfc = unicodedata.normalize("NFC", value)
    first = next((i for i, (a, b) in enumerate(zip(value, nfc, strict=False)) if a != b), min(len(value), len(nfc)))
    first = min(first, len(value) - 1)
    for i in range(first, min(first + 8, len(value))):
        if unicodedata.combining(value[i]) or not unicodedata.is_normalized("NFC", value[i]):
            return i + 1
    return first + 1


def _checked(value: str, field: str, limit: int, problems: Iterator[str]) -> str:
    first = next(problems, None)
    if first is not None:
        raise UsageError(f"{field} {shown(value)} {first}", field=field, limit=limit, problem=first)
    return value


def organisation_name(value: str, limit: int) -> str:
    """A subscriber organisation's name (policy `names.organisation` characters at most)."""
    return _checked(value, "organisation name", limit, _text_problems(value, limit))


def officer_name(value: str, limit: int, kind: str) -> str:
    """An SRO's or ARO's name (`kind` "SRO" or "ARO"; policy `names.officer` characters at most)."""
    return _checked(value, f"{kind} name", limit, _text_problems(value, limit))


def evidence_reference(value: str, limit: int, what: str) -> str:
    """The reference of the evidence an RA officer checked (`what`: identity, authority, nomination...)."""
    return _checked(value, f"{what} evidence reference", limit, _text_problems(value, limit))


def reason(value: str, limit: int, what: str) -> str:
    """Why a person decided as they did (`request reject --reason`): one line of text, as a name is."""
    return _checked(value, f"{what} reason", limit, _text_problems(value, limit))


def is_operator_name(value: str) -> bool:
    """Whether `value` is made of the operator-name characters (any length): a plain file name, never a path."""
    return _OPERATOR.fullmatch(value) is not None


def operator_name(value: str, limit: int) -> str:
    """An operator's name: 1 to `limit` ASCII letters, digits, '.', '-' or '_', starting with a letter or digit.

    So restricted that a name is a file name of the credential folder and never a path (`../../x`), and that
    no name can look like another in a different script (Cyrillic 'с' beside Latin 'c')."""
    rule = (f"must be 1 to {limit} letters, digits, '.', '-' or '_' (ASCII only), starting with a letter or "
            "digit")
    if not 1 <= len(value) <= limit:
        wrong = f"not {len(value)} characters"
    elif not is_operator_name(value):
        bad = next((i, ch) for i, ch in enumerate(value, 1)
                   if not (ch.isascii() and (ch.isalnum() or (i > 1 and ch in "._-"))))
        wrong = f"{_char(bad[1])} at position {bad[0]} is not allowed"
    else:
        return value
    raise UsageError(f"operator name {shown(value)} {rule}; {wrong}", field="operator name", limit=limit,
                     problem=wrong)


def common_name_problems(value: str, limit: int | None = None) -> tuple[str, ...]:
    """What the common-name character profile finds wrong with `value` (empty when nothing).

    The profile of every CN s1spki signs: one line of NFC text without control or format characters, no
    leading or trailing space, not whitespace only, none of RFC 4514's special characters (and no leading
    '#'), and unchanged by an RFC 4514 round trip. `limit` (policy `names.common_name`, RFC 5280
    ub-common-name at most) also bounds its length. The certificate linter applies the same function."""
    problems = list(_text_problems(value, limit))
    specials = sorted({ch for ch in value if ch in RFC4514_SPECIALS}, key=value.index)
    if specials:
        problems.append(f"must not contain {' '.join(specials)} (RFC 4514 special characters "
                        f"{' '.join(RFC4514_SPECIALS)} and a leading '#' are refused in a common name)")
    if value.startswith("#"):
        problems.append("must not begin with '#' (RFC 4514 reads it as a hex-encoded value)")
    if not problems:
        problems.extend(_rfc4514_round_trip(value))
    return tuple(problems)


def common_name(value: str, limit: int, field: str = "--cn") -> str:
    """A certificate's common name, checked against the CN character profile (`common_name_problems`)."""
    problems = common_name_problems(value, limit)
    if problems:
        raise UsageError(f"{field} {shown(value)} {problems[0]}", field=field, limit=limit, problem=problems[0])
    return value


def _rfc4514_round_trip(value: str) -> Iterator[str]:
    """What goes wrong when `CN=<value>` is written as an RFC 4514 string and parsed back (nothing: it is equal)."""
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    try:
        attribute = x509.NameAttribute(NameOID.COMMON_NAME, value)
    except ValueError as exc:  # e.g. over RFC 5280's ub-common-name
        yield f"cannot be a CN attribute: {exc}"
        return
    text = x509.Name([attribute]).rfc4514_string()
    try:
        back = list(x509.Name.from_rfc4514_string(text))
    except ValueError:
        yield f"does not survive an RFC 4514 round trip ({shown(text)} does not parse back)"
        return
    if [(a.oid, a.value) for a in back] != [(NameOID.COMMON_NAME, value)]:
        yield f"does not survive an RFC 4514 round trip ({shown(text)} reads back as {len(back)} other attribute(s))"
