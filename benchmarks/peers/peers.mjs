// The Node peers of benchmarks/compare.sh, on the tokens Aim minted (`Aim.Benchmarks --peers-fixture FILE`):
//   jose 6 jwtVerify (EdDSA, typ aip+jwt, exp/iat checked) of the compact token, beside Node's own raw Ed25519 verify
//   (OpenSSL) of the same signed bytes; @biscuit-auth/biscuit-wasm 0.6.0 parse + verify + authorize of the 3-block token
//   with the same authorizer code Aim runs.
// Usage: node --experimental-wasm-modules peers.mjs FIXTURE [seconds] (Node 20 needs the flag for biscuit-wasm's .wasm
// import). Prints one JSON object. The timing method is the one in PeerComparison.cs:
// warm up for `seconds`, size a batch to seconds/4, time 9 batches, report the median and minimum per-call mean in us.
import { readFileSync } from "node:fs";
import { createPublicKey, verify as nodeVerify } from "node:crypto";
import * as jose from "jose";
import * as biscuit from "@biscuit-auth/biscuit-wasm";

const [fixturePath, secondsText] = process.argv.slice(2);
const seconds = Number(secondsText ?? "0.25");
const fixture = JSON.parse(readFileSync(fixturePath, "utf8"));

function measure(call) {
  let start = process.hrtime.bigint();
  let n = 0;
  while (Number(process.hrtime.bigint() - start) / 1e9 < seconds) {
    call();
    n++;
  }
  const elapsed = Number(process.hrtime.bigint() - start) / 1e9;
  const batch = Math.max(1, Math.floor((n / elapsed) * seconds / 4));
  const means = [];
  for (let b = 0; b < 9; b++) {
    start = process.hrtime.bigint();
    for (let i = 0; i < batch; i++) call();
    means.push(Number(process.hrtime.bigint() - start) / 1e3 / batch);
  }
  means.sort((a, b) => a - b);
  return { median_us: Math.round(means[4] * 1000) / 1000, min_us: Math.round(means[0] * 1000) / 1000, batch };
}

// jose verifies asynchronously (WebCrypto): time sequential awaited verifications, the way a server uses it.
async function measureAsync(call) {
  let start = process.hrtime.bigint();
  let n = 0;
  while (Number(process.hrtime.bigint() - start) / 1e9 < seconds) {
    await call();
    n++;
  }
  const elapsed = Number(process.hrtime.bigint() - start) / 1e9;
  const batch = Math.max(1, Math.floor((n / elapsed) * seconds / 4));
  const means = [];
  for (let b = 0; b < 9; b++) {
    start = process.hrtime.bigint();
    for (let i = 0; i < batch; i++) await call();
    means.push(Number(process.hrtime.bigint() - start) / 1e3 / batch);
  }
  means.sort((a, b) => a - b);
  return { median_us: Math.round(means[4] * 1000) / 1000, min_us: Math.round(means[0] * 1000) / 1000, batch };
}

const rootRaw = Buffer.from(fixture.compact_root_public_hex, "hex");
const jwk = { kty: "OKP", crv: "Ed25519", x: rootRaw.toString("base64url") };
const joseKey = await jose.importJWK(jwk, "EdDSA");
const nodeKey = createPublicKey({ key: jwk, format: "jwk" });
const dot = fixture.compact.lastIndexOf(".");
const signingInput = Buffer.from(fixture.compact.slice(0, dot), "ascii");
const signature = Buffer.from(fixture.compact.slice(dot + 1), "base64url");
const joseOptions = { algorithms: ["EdDSA"], typ: "aip+jwt" };

// Checked once before timing.
if (!nodeVerify(null, signingInput, nodeKey, signature)) throw new Error("node: the compact signature does not verify");
const verified = await jose.jwtVerify(fixture.compact, joseKey, joseOptions);
if (!verified.payload.scope.includes(fixture.compact_tool)) throw new Error("jose: scope missing");

const [alg, hex] = fixture.biscuit_root_public.split("/");
const biscuitKey = biscuit.PublicKey.fromString(hex, alg === "secp256r1" ? biscuit.SignatureAlgorithm.Secp256r1 : biscuit.SignatureAlgorithm.Ed25519);
// biscuit-rust's default run limits allow 1 ms of Datalog; a loaded machine needs more, as Aim's side gets 1 s.
const limits = { max_facts: 5000, max_iterations: 100, max_time_micro: 1_000_000 };
function biscuitAuthorize() {
  const token = biscuit.Biscuit.fromBase64(fixture.biscuit, biscuitKey);
  const builder = new biscuit.AuthorizerBuilder();
  builder.addCode(fixture.biscuit_authorizer);
  return builder.buildAuthenticated(token).authorizeWithLimits(limits);
}
if (biscuitAuthorize() !== 0) throw new Error("biscuit-wasm: the token is not authorized by policy 0");

const result = {
  runtime: `Node ${process.version}, jose ${JSON.parse(readFileSync(new URL("./node_modules/jose/package.json", import.meta.url))).version}, biscuit-wasm 0.6.0`,
  node_raw_ed25519_verify: measure(() => nodeVerify(null, signingInput, nodeKey, signature)),
  jose_compact_verify: await measureAsync(() => jose.jwtVerify(fixture.compact, joseKey, joseOptions)),
  biscuit_wasm_verify_authorize: measure(biscuitAuthorize),
};
process.stdout.write(JSON.stringify(result) + "\n");
