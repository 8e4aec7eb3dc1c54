"""Every key object on a token, read through PKCS#11 (python-pkcs11) apart from s1spki, as JSON on stdout:

    python tests/support/token_objects.py MODULE TOKEN_LABEL SOFTHSM2_CONF  (the user PIN on stdin)

[{"class": "private" | "public" | "secret", "label": ..., "id": hex, "ec_point": hex or null}, ...]
"""

from __future__ import annotations

import json
import os
import sys

import pkcs11
from pkcs11 import Attribute, ObjectClass

CLASSES = {ObjectClass.PRIVATE_KEY: "private", ObjectClass.PUBLIC_KEY: "public", ObjectClass.SECRET_KEY: "secret"}


def main() -> None:
    module, label, conf = sys.argv[1:4]
    os.environ["SOFTHSM2_CONF"] = conf
    token = pkcs11.lib(module).get_token(token_label=label)
    found = []
    with token.open(user_pin=sys.stdin.read().strip()) as session:
        for object_class, name in CLASSES.items():
            for obj in session.get_objects({Attribute.CLASS: object_class}):
                point = obj[Attribute.EC_POINT] if object_class == ObjectClass.PUBLIC_KEY else None
                found.append({"class": name, "label": obj[Attribute.LABEL], "id": bytes(obj[Attribute.ID]).hex(),
                              "ec_point": bytes(point).hex() if point is not None else None})
    print(json.dumps(found))


if __name__ == "__main__":
    main()
