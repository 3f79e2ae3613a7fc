// Runs Biscuit operations in @biscuit-auth/biscuit-wasm (biscuit-rust compiled to WebAssembly) for Aim.Interop.Tests.
// Protocol: one JSON request per line on stdin, one JSON answer per line on stdout, in order.
//   {"op":"batch","items":[{op...}, ...]} -> {"results":[...]}
//   {"op":"mint","root":"ed25519-private/<hex>","blocks":["<datalog>", ...]} -> {"token":"<base64url>"}
//   {"op":"public","root":"ed25519-private/<hex>"} -> {"public":"ed25519/<hex>"}
//   {"op":"parse","token":..,"root":"ed25519/<hex>"} -> {"blocks":["<source>", ...],"revocation_ids":[..]}
//   {"op":"authorize","token":..,"root":..,"authorizer":"<datalog>"} -> {"policy":n}
//   {"op":"attenuate","token":..,"root":..,"block":"<datalog>"} -> {"token":..}
// Any failure answers {"error":<biscuit-rust's error as JSON, or {"Bridge":"message"}>}.
import * as biscuit from "@biscuit-auth/biscuit-wasm";
import { createInterface } from "node:readline";

// Generous limits: the worlds are small; the time limit only has to survive a loaded machine. A run that still hits the
// time limit is retried (biscuit-wasm's first runs in a cold process can exceed any tight budget).
const LIMITS = { max_facts: 1000, max_iterations: 100, max_time_micro: 5_000_000 };
const TIMEOUT_RETRIES = 3;

function publicKey(text) {
  const [alg, hex] = text.split("/");
  const algorithm = alg === "secp256r1" ? biscuit.SignatureAlgorithm.Secp256r1 : biscuit.SignatureAlgorithm.Ed25519;
  return biscuit.PublicKey.fromString(hex, algorithm);
}

function errorOf(e) {
  if (e instanceof Error) return { Bridge: e.message };
  if (typeof e === "string") return { Bridge: e };
  return e;
}

function isTimeout(e) {
  return e && typeof e === "object" && e.RunLimit === "Timeout";
}

function run(item) {
  switch (item.op) {
    case "mint": {
      const builder = new biscuit.BiscuitBuilder();
      builder.addCode(item.blocks[0]);
      let token = builder.build(biscuit.PrivateKey.fromString(item.root));
      for (const code of item.blocks.slice(1)) {
        const block = new biscuit.BlockBuilder();
        block.addCode(code);
        token = token.appendBlock(block);
      }
      return { token: token.toBase64() };
    }
    case "public": {
      const key = biscuit.KeyPair.fromPrivateKey(biscuit.PrivateKey.fromString(item.root));
      return { public: key.getPublicKey().toString() };
    }
    case "parse": {
      const token = biscuit.Biscuit.fromBase64(item.token, publicKey(item.root));
      const blocks = [];
      for (let i = 0; i < token.countBlocks(); i++) blocks.push(token.getBlockSource(i));
      return { blocks, revocation_ids: token.getRevocationIdentifiers() };
    }
    case "authorize": {
      const token = biscuit.Biscuit.fromBase64(item.token, publicKey(item.root));
      for (let attempt = 0; ; attempt++) {
        const builder = new biscuit.AuthorizerBuilder();
        builder.addCode(item.authorizer);
        const authorizer = builder.buildAuthenticated(token);
        try {
          return { policy: authorizer.authorizeWithLimits(LIMITS) };
        } catch (e) {
          if (!isTimeout(e) || attempt >= TIMEOUT_RETRIES) throw e;
        }
      }
    }
    case "attenuate": {
      const token = biscuit.Biscuit.fromBase64(item.token, publicKey(item.root));
      const block = new biscuit.BlockBuilder();
      block.addCode(item.block);
      return { token: token.appendBlock(block).toBase64() };
    }
    default:
      throw new Error(`unknown op ${item.op}`);
  }
}

function answer(item) {
  try {
    return run(item);
  } catch (e) {
    return { error: errorOf(e) };
  }
}

const lines = createInterface({ input: process.stdin, terminal: false });
for await (const line of lines) {
  if (line.trim() === "") continue;
  let request;
  try {
    request = JSON.parse(line);
  } catch (e) {
    process.stdout.write(JSON.stringify({ error: { Bridge: "bad request: " + e.message } }) + "\n");
    continue;
  }
  const reply = request.op === "batch" ? { results: request.items.map(answer) } : answer(request);
  process.stdout.write(JSON.stringify(reply) + "\n");
}
