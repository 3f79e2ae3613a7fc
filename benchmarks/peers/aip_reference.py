"""The AIP reference's Python compact verifier (github.com/sunilp/aip, aip_token.CompactToken.verify: PyJWT + cryptography)
on the compact token Aim minted, for benchmarks/compare.sh. The reference is imported from --aip (its python/ folder),
never copied. Prints one JSON object; the timing method is the one in PeerComparison.cs (warm up, 9 batches, median and
minimum per-call mean in microseconds). Needs Debian's python3-jwt, python3-pydantic, python3-cryptography, python3-base58."""

import argparse
import json
import sys
import time


def measure(call, seconds):
    start = time.perf_counter()
    n = 0
    while time.perf_counter() - start < seconds:
        call()
        n += 1
    elapsed = time.perf_counter() - start
    batch = max(1, int(n / elapsed * seconds / 4))
    means = []
    for _ in range(9):
        t = time.perf_counter()
        for _ in range(batch):
            call()
        means.append((time.perf_counter() - t) * 1e6 / batch)
    means.sort()
    return {"median_us": round(means[4], 3), "min_us": round(means[0], 3), "batch": batch}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--aip", required=True, help="the reference's python/ folder")
    parser.add_argument("fixture")
    parser.add_argument("seconds", nargs="?", type=float, default=0.25)
    args = parser.parse_args()
    sys.path.insert(0, args.aip)
    from aip_token.compact import CompactToken
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    import base64

    with open(args.fixture, encoding="utf-8") as f:
        fixture = json.load(f)
    token = fixture["compact"]
    key = bytes.fromhex(fixture["compact_root_public_hex"])
    tool = fixture["compact_tool"]
    signing_input, _, sig = token.rpartition(".")
    signature = base64.urlsafe_b64decode(sig + "=" * (-len(sig) % 4))
    public = Ed25519PublicKey.from_public_bytes(key)

    def reference():
        verified = CompactToken.verify(token, key)
        if not verified.has_scope(tool):
            raise RuntimeError("scope missing")

    reference()  # checked once before timing
    public.verify(signature, signing_input.encode("ascii"))
    print(json.dumps({
        "runtime": f"Python {sys.version.split()[0]}",
        "python_raw_ed25519_verify": measure(lambda: public.verify(signature, signing_input.encode("ascii")), args.seconds),
        "aip_reference_compact_verify": measure(reference, args.seconds),
    }))


if __name__ == "__main__":
    main()
