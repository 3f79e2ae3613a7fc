"""A stand-in for biscuit-python that runs every Biscuit operation in @biscuit-auth/biscuit-wasm.

The AIP reference's Python code imports `biscuit_auth` (biscuit-python, the Rust biscuit-auth crate behind a Python
binding). biscuit-python is not a Debian package, so this module offers the few names the reference uses and forwards
each call to tests/Aim.Interop.Tests/node/bridge.mjs, which runs biscuit-auth 6.0.0 compiled to WebAssembly. It is
Aim's own test tooling, used only by generate.py.
"""

from __future__ import annotations

import json
import os
import subprocess

_NODE_DIR = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", "node"))
_process = None


def _call(request: dict) -> dict:
    global _process
    if _process is None:
        _process = subprocess.Popen(
            ["node", "--experimental-wasm-modules", "--no-warnings", "bridge.mjs"],
            cwd=_NODE_DIR, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    _process.stdin.write(json.dumps(request) + "\n")
    _process.stdin.flush()
    while True:
        line = _process.stdout.readline()
        if not line:
            raise RuntimeError("the biscuit-wasm bridge exited")
        if line.startswith("{"):
            reply = json.loads(line)
            if "error" in reply:
                raise BiscuitError(reply["error"])
            return reply


class BiscuitError(Exception):
    """An error of biscuit-rust (its JSON form), raised where biscuit-python raises its own exceptions."""

    def __init__(self, error):
        super().__init__(json.dumps(error))
        self.error = error


class Algorithm:
    Ed25519 = "ed25519"


class PrivateKey:
    def __init__(self, text: str) -> None:
        self.text = text

    @staticmethod
    def from_bytes(raw: bytes, algorithm=None) -> "PrivateKey":
        return PrivateKey("ed25519-private/" + raw.hex())

    def public(self) -> "PublicKey":
        return PublicKey(_call({"op": "public", "root": self.text})["public"])


class PublicKey:
    def __init__(self, text: str) -> None:
        self.text = text

    @staticmethod
    def from_bytes(raw: bytes, algorithm=None) -> "PublicKey":
        return PublicKey("ed25519/" + raw.hex())


class BlockBuilder:
    def __init__(self, code: str = "") -> None:
        self.code = code


class BiscuitBuilder(BlockBuilder):
    def build(self, root: PrivateKey) -> "Biscuit":
        token = _call({"op": "mint", "root": root.text, "blocks": [self.code]})["token"]
        return Biscuit(token, root.public())


class Biscuit:
    def __init__(self, token: str, root: PublicKey) -> None:
        self._token = token
        self._root = root
        self._sources = None

    @staticmethod
    def from_base64(data: str, root: PublicKey) -> "Biscuit":
        biscuit = Biscuit(data, root)
        biscuit._parse()
        return biscuit

    def _parse(self) -> list:
        if self._sources is None:
            self._sources = _call({"op": "parse", "token": self._token, "root": self._root.text})["blocks"]
        return self._sources

    def to_base64(self) -> str:
        return self._token

    def block_count(self) -> int:
        return len(self._parse())

    def block_source(self, index: int) -> str:
        return self._parse()[index]

    def append(self, block: BlockBuilder) -> "Biscuit":
        token = _call({"op": "attenuate", "token": self._token, "root": self._root.text, "block": block.code})["token"]
        return Biscuit(token, self._root)


class Authorizer:
    def __init__(self, code: str, token: Biscuit) -> None:
        self._code = code
        self._token = token

    def authorize(self) -> int:
        return _call({"op": "authorize", "token": self._token.to_base64(), "root": self._token._root.text,
                      "authorizer": self._code})["policy"]


class AuthorizerBuilder:
    def __init__(self, code: str = "") -> None:
        self._code = code

    def build(self, token: Biscuit) -> Authorizer:
        return Authorizer(self._code, token)


class Fact:
    def __init__(self, code: str) -> None:
        self.code = code


class Rule(Fact):
    pass
