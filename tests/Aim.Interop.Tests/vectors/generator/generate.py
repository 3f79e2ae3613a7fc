"""Generates vectors/aip-reference.json: AIP tokens minted by the AIP reference and by Aim, each verified by the AIP
reference, with the reference's outcome. Aim's own verifier must reach the same outcome (AipReferenceVectorTests).

Run (see ../README.md):
  /usr/bin/python3 generate.py --aip <checkout of github.com/sunilp/aip>/python --aim "dotnet <repo>/src/Aim.Cli/bin/Release/net10.0/aim.dll"

The reference's code is imported from --aip and never copied. Its Biscuit calls go through biscuit_auth/ (this folder),
which runs them in @biscuit-auth/biscuit-wasm. Debian's python3-pydantic is 1.x; the reference calls pydantic 2's
model_dump, which is given to it below as the 1.x equivalent.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--aip", required=True, help="the reference's python/ folder")
    parser.add_argument("--aim", required=True, help="command that runs the aim CLI")
    parser.add_argument("--commit", default="", help="the reference's commit, recorded in the output")
    parser.add_argument("--out", default=os.path.join(HERE, "..", "aip-reference.json"))
    args = parser.parse_args()

    sys.path.insert(0, HERE)  # biscuit_auth (the biscuit-wasm stand-in) first
    sys.path.insert(1, args.aip)
    import pydantic

    if not hasattr(pydantic.BaseModel, "model_dump"):
        pydantic.BaseModel.model_dump = lambda self, mode=None: json.loads(self.json())

    cases = reference_minted() + aim_minted(args.aim)
    output = {
        "reference": f"github.com/sunilp/aip {args.commit} (Python, Biscuit through @biscuit-auth/biscuit-wasm 0.6.0)",
        "generated_at": int(time.time()),
        "cases": cases,
    }
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(output, f, indent=1)
        f.write("\n")
    print(f"{len(cases)} cases written to {args.out}")


# ---------------------------------------------------------------- the reference's verifiers


def reference_compact(token: str, public_key: bytes, tool: str | None) -> tuple[str, str]:
    from aip_token.compact import CompactToken
    from aip_token.error import TokenError

    try:
        verified = CompactToken.verify(token, public_key)
    except TokenError as e:
        return e.code, str(e)
    if tool is not None and not verified.has_scope(tool):
        return "scope_insufficient", "has_scope() is false"
    return "valid", ""


def reference_chained(token: str, public_key: bytes, tool: str) -> tuple[str, str]:
    from aip_token.chained import ChainedToken
    from aip_token.error import TokenError

    try:
        ChainedToken.from_base64(token, public_key).authorize(tool, public_key)
    except TokenError as e:
        return e.code, str(e)
    except Exception as e:  # a Biscuit error raised before the reference's own checks (V1)
        return "biscuit_error", str(e)
    return "valid", ""


def case(name, source, conformance, mode, token, root_id, public_key, tool, outcome):
    return {
        "name": name,
        "minted_by": source,
        "conformance_test": conformance,
        "mode": mode,
        "token": token,
        "root": root_id,
        "root_public_key_hex": public_key.hex(),
        "tool": tool,
        "verified_at": int(time.time()),
        "reference_outcome": outcome[0],
        "reference_detail": outcome[1],
    }


# ---------------------------------------------------------------- minted by the reference


def reference_minted() -> list:
    from aip_core.crypto import KeyPair
    from aip_token.chained import ChainedToken
    from aip_token.claims import AipClaims
    from aip_token.compact import CompactToken
    from biscuit_auth import BlockBuilder

    cases = []

    def compact(name, conformance, kp, tool, **claims):
        token = CompactToken.create(AipClaims(**claims), kp)
        cases.append(case(name, "reference", conformance, "compact", token, claims["iss"], kp.public_key_bytes(), tool,
                          reference_compact(token, kp.public_key_bytes(), tool)))
        return token

    # tests/conformance/test_interop.py: the Rust binary create_token's claims (minted here by the Python reference,
    # whose wire format the test says is the same), and the Python test's own token.
    kp = KeyPair.generate()
    compact("compact: create_token's claims, verified", "tests/conformance/test_interop.py::test_rust_token_verified_by_python",
            kp, "tool:search", iss="aip:web:interop.test/rust-agent", sub="aip:web:interop.test/verifier", scope=["tool:search"],
            budget_usd=1.0, max_depth=0, iat=1_711_100_000, exp=4_102_444_800)
    kp = KeyPair.generate()
    token = compact("compact: Python token, verified", "tests/conformance/test_interop.py::test_python_token_verified_by_rust",
                    kp, None, iss="aip:web:interop.test/python-agent", sub="aip:web:interop.test/verifier", scope=["tool:test"],
                    budget_usd=1.0, max_depth=0, iat=1_711_100_000, exp=4_711_100_000)

    # More compact shapes the reference writes or refuses.
    now = int(time.time())
    kp = KeyPair.generate()
    compact("compact: no budget (written as null)", None, kp, "tool:search", iss="aip:web:interop.test/python-agent",
            sub="aip:web:interop.test/verifier", scope=["tool:search", "tool:browse"], budget_usd=None, max_depth=2, iat=now, exp=now + 600)
    compact("compact: expired", None, kp, None, iss="aip:web:interop.test/python-agent", sub="aip:web:interop.test/verifier",
            scope=["tool:search"], budget_usd=0.5, max_depth=0, iat=1_711_100_000, exp=1_711_103_600)
    tampered = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    cases.append(case("compact: signature altered", "reference", None, "compact", tampered, "aip:web:interop.test/python-agent",
                      kp_public(cases[1]), None, reference_compact(tampered, kp_public(cases[1]), None)))
    other = KeyPair.generate()
    claims = dict(iss="aip:web:interop.test/python-agent", sub="aip:web:interop.test/verifier", scope=["tool:test"], budget_usd=1.0,
                  max_depth=0, iat=now, exp=now + 600)
    forged = CompactToken.create(AipClaims(**claims), other)
    cases.append(case("compact: signed by another key", "reference", None, "compact", forged, claims["iss"], kp_public(cases[1]), None,
                      reference_compact(forged, kp_public(cases[1]), None)))

    # tests/conformance/test_chained_interop.py.
    def delegated(root, kp, scopes, delegated_scopes, budget=500, sub_budget=100):
        authority = ChainedToken.create_authority(issuer=root, scopes=scopes, budget_cents=budget, max_depth=3, ttl_seconds=3600, keypair=kp)
        return authority.delegate(delegator=root, delegate="aip:web:interop.test/delegate", scopes=delegated_scopes,
                                  budget_cents=sub_budget, context="interop test delegation")

    def chained(name, conformance, root, kp, token, tool):
        b64 = token.to_base64() if hasattr(token, "to_base64") else token
        cases.append(case(name, "reference", conformance, "chained", b64, root, kp.public_key_bytes(), tool,
                          reference_chained(b64, kp.public_key_bytes(), tool)))

    kp = KeyPair.generate()
    chained("chained: create_chained_token's chain, tool:search", "tests/conformance/test_chained_interop.py::test_rust_delegated_token_verified_by_python",
            "aip:web:interop.test/rust-root", kp, delegated("aip:web:interop.test/rust-root", kp, ["tool:search", "tool:browse"], ["tool:search"]),
            "tool:search")
    kp = KeyPair.generate()
    python_chain = delegated("aip:web:interop.test/python-root", kp, ["tool:search", "tool:browse"], ["tool:search"])
    chained("chained: Python chain, tool:search", "tests/conformance/test_chained_interop.py::test_python_delegated_token_verified_by_rust",
            "aip:web:interop.test/python-root", kp, python_chain, "tool:search")
    chained("chained: Python chain, narrowed-away tool:browse", "tests/conformance/test_chained_interop.py::test_scope_narrowed_away_is_rejected_by_rust",
            "aip:web:interop.test/python-root", kp, python_chain, "tool:browse")
    kp2 = KeyPair.generate()
    python_chain2 = delegated("aip:web:interop.test/python-root", kp2, ["tool:search", "tool:browse"], ["tool:search"])
    chained("chained: Python chain (second), narrowed-away tool:browse", "tests/conformance/test_chained_interop.py::test_scope_narrowed_away_is_rejected_by_python",
            "aip:web:interop.test/python-root", kp2, python_chain2, "tool:browse")

    # The reference's canonical-encoding tests (python/tests/test_canonical_encoding.py) and more: honest shapes and
    # blocks forged by appending raw Datalog, as an attacker holding the token would.
    root = "aip:web:example.com/root"

    def authority(kp, scopes=("tool:search", "tool:browse"), budget=500, max_depth=3, principal=None):
        return ChainedToken.create_authority(issuer=root, scopes=list(scopes), budget_cents=budget, max_depth=max_depth, ttl_seconds=3600,
                                             keypair=kp, principal=principal)

    def forge(token, datalog):
        return token._biscuit.append(BlockBuilder(datalog)).to_base64()

    hop = 'delegator("aip:web:example.com/root");\ndelegate("aip:web:example.com/sub");\n'
    kp = KeyPair.generate()
    chained("chained: forged block raises the budget ceiling", "python/tests/test_canonical_encoding.py::test_verifier_rejects_a_chain_whose_budget_ceiling_widened",
            root, kp, forge(authority(kp, budget=100), hop + 'context("forged");\nbudget_ceiling(500);\ncheck if tool($t), ["tool:search"].contains($t);\n'), "tool:search")
    kp = KeyPair.generate()
    chained("chained: forged block widens the scope", None, root, kp,
            forge(authority(kp, scopes=["tool:search"]), hop + 'context("forged");\ncheck if tool($t), ["tool:search", "tool:email"].contains($t);\n'), "tool:search")
    kp = KeyPair.generate()
    chained("chained: forged block without context", None, root, kp,
            forge(authority(kp), hop + 'check if tool($t), ["tool:search"].contains($t);\n'), "tool:search")
    kp = KeyPair.generate()
    chained("chained: forged block with an empty context", None, root, kp,
            forge(authority(kp), hop + 'context(" ");\ncheck if tool($t), ["tool:search"].contains($t);\n'), "tool:search")
    kp = KeyPair.generate()
    first = authority(kp, max_depth=1).delegate(delegator=root, delegate="aip:web:example.com/sub", scopes=["tool:search"], budget_cents=None, context="one")
    chained("chained: two delegations under max_depth 1", None, root, kp,
            forge(first, 'delegator("aip:web:example.com/sub");\ndelegate("aip:web:example.com/third");\ncontext("two");\ncheck if tool($t), ["tool:search"].contains($t);\n'),
            "tool:search")
    kp = KeyPair.generate()
    chained("chained: forged block substitutes the principal", None, root, kp,
            forge(authority(kp, principal="user:alice"), hop + 'context("c");\nprincipal("user:mallory");\ncheck if tool($t), ["tool:search"].contains($t);\n'),
            "tool:search")
    kp = KeyPair.generate()
    chained("chained: principal kept along the chain", None, root, kp,
            authority(kp, principal="user:alice").delegate(delegator=root, delegate="aip:web:example.com/sub", scopes=["tool:search"],
                                                          budget_cents=50, context="c", principal="user:alice"), "tool:search")
    kp = KeyPair.generate()
    patterns = authority(kp, scopes=["report:daily", "tool:*"]).delegate(delegator=root, delegate="aip:web:example.com/sub",
                                                                        scopes=["tool:web:*"], budget_cents=None, context="web only")
    chained("chained: prefix patterns, tool inside", None, root, kp, patterns, "tool:web:search")
    chained("chained: prefix patterns, tool outside", None, root, kp, patterns, "tool:db:read")
    kp = KeyPair.generate()
    chained("chained: a bare * scope", None, root, kp, authority(kp, scopes=["*"]), "anything:at:all")
    kp = KeyPair.generate()
    chained("chained: authority only, tool not granted", None, root, kp, authority(kp), "tool:delete")
    kp = KeyPair.generate()
    other = KeyPair.generate()
    chained("chained: verified under another root key", None, root, other, authority(kp), "tool:search")
    return cases


def kp_public(entry) -> bytes:
    return bytes.fromhex(entry["root_public_key_hex"])


# ---------------------------------------------------------------- minted by Aim


def aim_minted(aim_command: str) -> list:
    home = tempfile.mkdtemp(prefix="aim-vectors-")
    env = dict(os.environ, AIM_HOME=home)
    aim = shlex.split(aim_command)

    def run(*arguments, stdin=None):
        result = subprocess.run(aim + list(arguments), env=env, input=stdin, capture_output=True, text=True, check=True)
        return result.stdout.strip().splitlines()[-1]

    ids = {name: run("identity", "create", "--name", name) for name in ("root", "orchestrator", "specialist")}

    def public_key(aip_id: str) -> bytes:
        import base58

        return base58.b58decode(aip_id.split(":")[-1][1:])

    cases = []

    def add(name, mode, token, tool):
        key = public_key(ids["root"])
        outcome = reference_compact(token, key, tool) if mode == "compact" else reference_chained(token, key, tool)
        cases.append(case(name, "aim", None, mode, token, ids["root"], key, tool, outcome))

    compact = run("token", "mint", "--agent", "root", "--sub", ids["orchestrator"], "--scope", "tool:search", "--budget", "1.5", "--ttl", "30m")
    add("Aim compact, tool in scope", "compact", compact, "tool:search")
    add("Aim compact, tool out of scope", "compact", compact, "tool:delete")
    add("Aim compact, no budget", "compact",
        run("token", "mint", "--agent", "root", "--sub", ids["orchestrator"], "--scope", "tool:search", "--scope", "db:read", "--max-depth", "1"),
        "db:read")

    root_only = run("token", "mint", "--mode", "chained", "--agent", "root", "--sub", ids["root"], "--scope", "tool:search", "--scope", "tool:browse",
                    "--budget", "5", "--max-depth", "3", "--ttl", "1h")
    add("Aim chained authority only, tool granted", "chained", root_only, "tool:browse")
    add("Aim chained authority only, tool not granted", "chained", root_only, "tool:delete")
    one = run("token", "delegate", "--agent", "root", "--to", ids["orchestrator"], "--scope", "tool:search", "--budget", "1",
              "--context", "plan the trip", root_only)
    add("Aim chained one delegation, tool kept", "chained", one, "tool:search")
    add("Aim chained one delegation, tool dropped", "chained", one, "tool:browse")
    two = run("token", "delegate", "--agent", "orchestrator", "--to", ids["specialist"], "--scope", "tool:search", "--budget", "0.5",
              "--ttl", "20m", "--context", "find flights", one)
    add("Aim chained two delegations with a narrower expiry", "chained", two, "tool:search")
    done = run("token", "complete", "--agent", "specialist", "--status", "completed", "--cost", "0.03", "--tokens", "1200",
               "--result-hash", "sha256:00ff", two)
    add("Aim chained two delegations and a completion block (max_depth 3)", "chained", done, "tool:search")
    attested = run("token", "delegate", "--agent", "root", "--to", ids["orchestrator"], "--scope", "tool:search", "--context", "attested hop",
                   "--attested", root_only)
    add("Aim chained attested delegation (third-party block)", "chained", attested, "tool:search")
    shallow = run("token", "mint", "--mode", "chained", "--agent", "root", "--sub", ids["root"], "--scope", "tool:search", "--max-depth", "1")
    shallow_one = run("token", "delegate", "--agent", "root", "--to", ids["orchestrator"], "--scope", "tool:search", "--context", "only hop", shallow)
    add("Aim chained max_depth 1 with one delegation", "chained", shallow_one, "tool:search")
    add("Aim chained max_depth 1, one delegation and a completion block", "chained",
        run("token", "complete", "--agent", "orchestrator", "--status", "completed", shallow_one), "tool:search")
    patterns = run("token", "mint", "--mode", "chained", "--agent", "root", "--sub", ids["root"], "--scope", "tool:*", "--scope", "report:daily",
                   "--max-depth", "2")
    web = run("token", "delegate", "--agent", "root", "--to", ids["orchestrator"], "--scope", "tool:web:*", "--context", "web only", patterns)
    add("Aim chained prefix patterns, tool inside", "chained", web, "tool:web:search")
    add("Aim chained prefix patterns, tool outside", "chained", web, "report:daily")
    return cases


if __name__ == "__main__":
    main()
