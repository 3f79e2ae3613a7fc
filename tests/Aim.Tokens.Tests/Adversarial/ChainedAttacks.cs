using System.Globalization;
using System.Text;
using Aim.Biscuit;
using Aim.Crypto;
using Google.Protobuf;
using static Aim.Tokens.Tests.TestKeys;

namespace Aim.Tokens.Tests.Adversarial;

/// <summary>
/// Generates attacks on chained tokens with raw Biscuit operations: blocks written as Datalog text and appended with
/// Aim.Biscuit's own builder/attenuate/third-party calls, and protobuf surgery on the bytes. Seeded.
/// </summary>
internal static class ChainedAttacks
{
    public static readonly Ed25519KeyPair User = FromByte(1);
    public static readonly Ed25519KeyPair Orchestrator = FromByte(2);
    public static readonly Ed25519KeyPair Specialist = FromByte(3);
    public static readonly Ed25519KeyPair Attacker = FromByte(66);
    public static readonly DateTimeOffset RootExpiry = T0.AddMinutes(30);

    private static readonly string[] RootRights = ["tool:search", "tool:fetch"];

    public static string Date(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    // The draft's canonical tool check (section 7.1/7.2): literals as one array clause first, then the patterns, in the order given.
    public static string ToolCheck(IEnumerable<string> scopes)
    {
        var list = scopes.Distinct().ToList();
        var literals = list.Where(s => !s.EndsWith('*')).ToList();
        var parts = new List<string>();
        if (literals.Count > 0)
        {
            parts.Add("tool($t), [" + string.Join(", ", literals.Select(l => $"\"{l}\"")) + "].contains($t)");
        }

        parts.AddRange(list.Where(s => s.EndsWith('*')).Select(p => p == "*" ? "tool($t)" : $"tool($t), $t.starts_with(\"{p[..^1]}\")"));
        return "check if " + string.Join(" or ", parts) + ";";
    }

    public static string AuthorityCode(string id, IEnumerable<string> rights, int maxDepth = 3, long? budgetCents = 500, DateTimeOffset? expires = null, string extra = "")
    {
        var exp = expires ?? RootExpiry;
        var list = rights.ToList();
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"identity(\"{id}\");");
        foreach (var r in list)
        {
            sb.Append(CultureInfo.InvariantCulture, $"right(\"{r}\");");
        }

        sb.Append(CultureInfo.InvariantCulture, $"max_depth({maxDepth});");
        if (budgetCents is { } b)
        {
            sb.Append(CultureInfo.InvariantCulture, $"budget_ceiling({b});");
        }

        sb.Append(ToolCheck(list));
        sb.Append(CultureInfo.InvariantCulture, $"check if time($t), $t <= {Date(exp)};");
        sb.Append(extra);
        return sb.ToString();
    }

    public static string DelegationCode(string delegator, string @delegate, string context, IEnumerable<string> rights, long? budgetCents = null, DateTimeOffset? expires = null, string extra = "")
    {
        var list = rights.ToList();
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"delegator(\"{delegator}\");delegate(\"{@delegate}\");context(\"{context}\");");
        if (budgetCents is { } b)
        {
            sb.Append(CultureInfo.InvariantCulture, $"budget_ceiling({b});");
        }

        sb.Append(ToolCheck(list));
        if (expires is { } e2)
        {
            sb.Append(CultureInfo.InvariantCulture, $"check if time($t), $t <= {Date(e2)};");
        }

        sb.Append(extra);
        return sb.ToString();
    }

    public static BiscuitToken HonestRoot(int maxDepth = 3, long? budget = 500) => RawBiscuit.Authority(User, AuthorityCode(Id(User), RootRights, maxDepth, budget));

    /// <summary>user -> orchestrator (both tools, $5) -> specialist (search, $1), built with raw operations.</summary>
    public static BiscuitToken HonestTwoHops()
    {
        var one = RawBiscuit.ThirdParty(HonestRoot(), User, DelegationCode(Id(User), Id(Orchestrator), "plan", RootRights, 500));
        return RawBiscuit.ThirdParty(one, Orchestrator, DelegationCode(Id(Orchestrator), Id(Specialist), "search flights", ["tool:search"], 100, T0.AddMinutes(20)));
    }

    public static IEnumerable<Attack> All()
    {
        var random = new Random(5_2026);
        string[] holders = [Id(User), Id(Orchestrator), Id(Specialist)];
        Ed25519KeyPair[] keys = [User, Orchestrator, Specialist];
        var root = HonestRoot();
        var hop1 = RawBiscuit.ThirdParty(root, User, DelegationCode(Id(User), Id(Orchestrator), "plan", RootRights, 500));
        var twoHops = HonestTwoHops();
        var search = new AipRequestFor("tool:search");

        // 1. scope widening in a delegation block, at hop 1 or hop 2.
        string[] wider = ["tool:delete", "tool:*", "admin:root", "tool:search2", "db:*", "tool:fetch:*", "payment:refund", "tool:searc", "x:y", "tool:web:*"];
        for (var i = 0; i < 80; i++)
        {
            var extra = wider[i % wider.Length];
            BiscuitToken token;
            if (i % 2 == 0)
            {
                token = RawBiscuit.ThirdParty(root, User, DelegationCode(Id(User), Id(Orchestrator), "widen", ["tool:search", extra]));
            }
            else
            {
                var narrowed = RawBiscuit.ThirdParty(root, User, DelegationCode(Id(User), Id(Orchestrator), "narrow", ["tool:search"]));
                var widenTo = i % 4 == 1 ? "tool:fetch" : extra; // tool:fetch was the root's, but not the parent's
                token = RawBiscuit.ThirdParty(narrowed, Orchestrator, DelegationCode(Id(Orchestrator), Id(Specialist), "widen", ["tool:search", widenTo]));
            }

            yield return new Attack("scope widening (block)", extra, RawBiscuit.Text(token), AipErrorCodes.ScopeInsufficient, search.Request);
        }

        // 2. depth violation: more delegations than max_depth (and than the verifier's block cap).
        for (var i = 0; i < 80; i++)
        {
            var maxDepth = i % 4;
            var extraHops = 1 + (i / 4 % 3);
            var token = RawBiscuit.Authority(User, AuthorityCode(Id(User), RootRights, maxDepth));
            var hops = maxDepth + extraHops;
            for (var h = 0; h < hops; h++)
            {
                var from = keys[h % 3];
                token = RawBiscuit.ThirdParty(token, from, DelegationCode(Id(from), holders[(h + 1) % 3], $"hop {h}", ["tool:search"]));
            }

            yield return new Attack("depth violation", $"max_depth {maxDepth}, {hops} hops", RawBiscuit.Text(token), AipErrorCodes.DepthExceeded);
        }

        // 3. expiry extension: a block outlives its parent.
        for (var i = 0; i < 80; i++)
        {
            var later = RootExpiry.AddSeconds(1 + random.Next(0, 86_400));
            BiscuitToken token = i % 2 == 0
                ? RawBiscuit.ThirdParty(root, User, DelegationCode(Id(User), Id(Orchestrator), "extend", ["tool:search"], null, later))
                : RawBiscuit.ThirdParty(
                    RawBiscuit.ThirdParty(root, User, DelegationCode(Id(User), Id(Orchestrator), "short", ["tool:search"], null, T0.AddMinutes(10))),
                    Orchestrator, DelegationCode(Id(Orchestrator), Id(Specialist), "extend", ["tool:search"], null, T0.AddMinutes(10).AddSeconds(1 + random.Next(0, 1200))));
            yield return new Attack("expiry extension (block)", Date(later), RawBiscuit.Text(token), AipErrorCodes.TokenExpired);
        }

        // 4. budget widening above any ancestor (also across a hop that sets none).
        for (var i = 0; i < 80; i++)
        {
            var more = 501 + random.Next(0, 100_000);
            BiscuitToken token = (i % 3) switch
            {
                0 => RawBiscuit.ThirdParty(root, User, DelegationCode(Id(User), Id(Orchestrator), "spend", ["tool:search"], more)),
                1 => RawBiscuit.ThirdParty(
                    RawBiscuit.ThirdParty(root, User, DelegationCode(Id(User), Id(Orchestrator), "no budget set", ["tool:search"])),
                    Orchestrator, DelegationCode(Id(Orchestrator), Id(Specialist), "spend", ["tool:search"], more)),
                _ => RawBiscuit.ThirdParty(hop1, Orchestrator, DelegationCode(Id(Orchestrator), Id(Specialist), "spend", ["tool:search"], 100 + (more % 400) + 401)),
            };
            yield return new Attack("budget widening (block)", $"{more} cents", RawBiscuit.Text(token), AipErrorCodes.BudgetExceeded);
        }

        // 5. empty context.
        string[] empties = ["", " ", "   ", "\\t", "\\n", " \\t \\n "];
        for (var i = 0; i < 60; i++)
        {
            var ctx = empties[i % empties.Length];
            var token = i % 2 == 0
                ? RawBiscuit.ThirdParty(root, User, DelegationCode(Id(User), Id(Orchestrator), ctx, ["tool:search"]))
                : RawBiscuit.ThirdParty(hop1, Orchestrator, DelegationCode(Id(Orchestrator), Id(Specialist), ctx, ["tool:search"]));
            yield return new Attack("empty context", $"context(\"{ctx}\")", RawBiscuit.Text(token), AipErrorCodes.TokenMalformed);
        }

        // 6. key substitution in block 0: the authority names the trusted root but another key signs it; or the
        //    attacker names itself (untrusted).
        for (var i = 0; i < 80; i++)
        {
            using var other = FromByte((byte)(150 + (i % 40)));
            var namesRoot = i % 2 == 0;
            var token = RawBiscuit.Authority(other, AuthorityCode(namesRoot ? Id(User) : Id(other), ["tool:*"], 3, 1_000_000));
            if (i % 4 >= 2)
            {
                token = RawBiscuit.ThirdParty(token, namesRoot ? User : other, DelegationCode(namesRoot ? Id(User) : Id(other), Id(Orchestrator), "sub", ["tool:search"]));
            }

            yield return new Attack("key substitution (block 0)", namesRoot ? "names the root, other key signs" : "self-named untrusted root",
                RawBiscuit.Text(token), namesRoot ? AipErrorCodes.SignatureInvalid : AipErrorCodes.IdentityUnresolvable);
        }

        // 7. wrong key on a delegation block: signed by someone else, appended first-party, or by a non-holder.
        for (var i = 0; i < 80; i++)
        {
            using var other = FromByte((byte)(200 + (i % 40)));
            BiscuitToken token = (i % 4) switch
            {
                0 => RawBiscuit.ThirdParty(root, other, DelegationCode(Id(User), Id(Orchestrator), "forged", ["tool:search"])),
                1 => RawBiscuit.FirstParty(root, DelegationCode(Id(User), Id(Orchestrator), "unsigned", ["tool:search"])),
                2 => RawBiscuit.ThirdParty(root, other, DelegationCode(Id(other), Id(Orchestrator), "not the holder", ["tool:search"])),
                _ => RawBiscuit.ThirdParty(hop1, User, DelegationCode(Id(User), Id(Specialist), "former holder", ["tool:search"])),
            };
            // Variant 1 is an ordinary appended block: the AIP-standard form, valid by default; refused only where
            // attestation is required.
            yield return new Attack("wrong key (delegation)", $"variant {i % 4}", RawBiscuit.Text(token), AipErrorCodes.SignatureInvalid) { RequireAttestation = i % 4 == 1 };
        }

        // 8. tampered bytes: protobuf surgery on signatures, keys and block payloads.
        for (var i = 0; i < 100; i++)
        {
            var wire = RawBiscuit.Wire.Parse(twoHops);
            var targets = new List<int> { wire.AuthorityIndex() };
            targets.AddRange(wire.BlockIndexes());
            var target = targets[i % targets.Count];
            var fields = RawBiscuit.SignedBlockFields(wire.Fields[target].Raw);
            string what;
            switch (i / targets.Count % 4)
            {
                case 0:
                {
                    var s = fields.FindIndex(f => f.Field == 3);
                    var bytes = (byte[])fields[s].Raw.Clone();
                    var bit = random.Next(bytes.Length * 8);
                    bytes[bit / 8] ^= (byte)(1 << (bit % 8));
                    fields[s] = (3, fields[s].Type, bytes);
                    what = $"signature bit {bit}";
                    break;
                }

                case 1:
                {
                    var s = fields.FindIndex(f => f.Field == 1);
                    var payload = fields[s].Raw;
                    var edited = ReplaceSameLength(payload, "tool:search", "tool:sedrch") ?? ReplaceSameLength(payload, "plan", "pwn!")!;
                    fields[s] = (1, fields[s].Type, edited ?? FlipLastByte(payload));
                    what = "payload string edited";
                    break;
                }

                case 2:
                {
                    var s = fields.FindIndex(f => f.Field == 2);
                    var key = RawBiscuit.SignedBlockFields(fields[s].Raw);
                    var k = key.FindIndex(f => f.Field == 2);
                    var bytes = (byte[])key[k].Raw.Clone();
                    bytes[random.Next(bytes.Length)] ^= 0x01;
                    key[k] = (2, key[k].Type, bytes);
                    fields[s] = (2, fields[s].Type, RawBiscuit.JoinSignedBlock(key));
                    what = "next key bit";
                    break;
                }

                default:
                {
                    var s = fields.FindIndex(f => f.Field == 4);
                    if (s < 0)
                    {
                        s = fields.FindIndex(f => f.Field == 3);
                    }

                    var bytes = (byte[])fields[s].Raw.Clone();
                    bytes[bytes.Length - 1 - random.Next(0, 10)] ^= 0x80;
                    fields[s] = (fields[s].Field, fields[s].Type, bytes);
                    what = "external signature bit";
                    break;
                }
            }

            wire.Fields[target] = (wire.Fields[target].Field, RawBiscuit.JoinSignedBlock(fields));
            yield return new Attack("tampered bytes (chained)", what, RawBiscuit.Text(wire.ToBytes()), AipErrorCodes.SignatureInvalid);
        }

        // 9. block removal or reordering.
        var threeHops = RawBiscuit.ThirdParty(twoHops, Specialist, DelegationCode(Id(Specialist), Id(User), "back", ["tool:search"]));
        for (var i = 0; i < 80; i++)
        {
            var wire = RawBiscuit.Wire.Parse(i % 2 == 0 ? threeHops : twoHops);
            var blocks = wire.BlockIndexes();
            string what;
            switch (i % 5)
            {
                case 0:
                    wire.Fields.RemoveAt(blocks[random.Next(blocks.Count)]);
                    what = "remove a block";
                    break;
                case 1:
                    (wire.Fields[blocks[0]], wire.Fields[blocks[^1]]) = (wire.Fields[blocks[^1]], wire.Fields[blocks[0]]);
                    what = "swap first and last blocks";
                    break;
                case 2:
                    wire.Fields.Insert(blocks[^1] + 1, wire.Fields[blocks[0]]);
                    what = "duplicate a block";
                    break;
                case 3:
                {
                    // Swap the payloads, keeping the field numbers (protobuf field order carries no meaning).
                    var a = wire.AuthorityIndex();
                    var authorityRaw = wire.Fields[a].Raw;
                    wire.Fields[a] = (2, wire.Fields[blocks[0]].Raw);
                    wire.Fields[blocks[0]] = (3, authorityRaw);
                }

                    what = "swap authority and block 1";
                    break;
                default:
                    wire.Fields.RemoveAt(blocks[^1]);
                    what = "remove the last block";
                    break;
            }

            // A delegation block moved into the authority slot no longer names a root identity: refused as malformed
            // before any key is looked up. Every other reshuffle breaks the signature chain.
            yield return new Attack("block removal / reordering", what, RawBiscuit.Text(wire.ToBytes()),
                i % 5 == 3 ? AipErrorCodes.TokenMalformed : AipErrorCodes.SignatureInvalid);
        }

        // 10. malformed and oversized chained tokens.
        var malformed = Malformed(root, hop1).ToList();
        for (var i = 0; i < Math.Max(80, malformed.Count); i++)
        {
            var (what, token) = malformed[i % malformed.Count];
            yield return new Attack("malformed / oversized (chained)", what, token, AipErrorCodes.TokenMalformed);
        }

        // 11. forged completion blocks.
        for (var i = 0; i < 40; i++)
        {
            using var other = FromByte((byte)(100 + i));
            var code = $"completed_by(\"{Id(Specialist)}\");status(\"success\");cost({random.Next(0, 1000)});";
            BiscuitToken token = (i % 3) switch
            {
                0 => RawBiscuit.ThirdParty(twoHops, other, code),
                1 => RawBiscuit.FirstParty(twoHops, code),
                _ => RawBiscuit.ThirdParty(twoHops, Orchestrator, $"completed_by(\"{Id(Orchestrator)}\");status(\"success\");"),
            };
            yield return new Attack("forged completion", $"variant {i % 3}", RawBiscuit.Text(token), AipErrorCodes.SignatureInvalid) { RequireAttestation = i % 3 == 1 };
        }
    }

    private static IEnumerable<(string, string)> Malformed(BiscuitToken root, BiscuitToken hop1)
    {
        var rights = new[] { "tool:search" };
        yield return ("not base64", "!!!not-a-token!!!");
        yield return ("random bytes", RawBiscuit.Text(Enumerable.Range(0, 64).Select(n => (byte)(n * 37 + 11)).ToArray()));
        yield return ("empty protobuf", RawBiscuit.Text([0x08, 0x01]));
        yield return ("truncated header", RawBiscuit.Text(root.ToBytes()[..3]));
        yield return ("oversized", RawBiscuit.Text(new byte[70 * 1024]));
        yield return ("authority without identity", RawBiscuit.Text(RawBiscuit.Authority(User, AuthorityCode(Id(User), rights).Replace($"identity(\"{Id(User)}\");", string.Empty, StringComparison.Ordinal))));
        yield return ("two identities", RawBiscuit.Text(RawBiscuit.Authority(User, AuthorityCode(Id(User), rights, extra: $"identity(\"{Id(Attacker)}\");"))));
        yield return ("identity not a string", RawBiscuit.Text(RawBiscuit.Authority(User, AuthorityCode(Id(User), rights).Replace($"identity(\"{Id(User)}\")", "identity(42)", StringComparison.Ordinal))));
        yield return ("rule injected into authority", RawBiscuit.Text(RawBiscuit.Authority(User, AuthorityCode(Id(User), rights, extra: "right($x) <- tool($x);"))));
        yield return ("authority check wider than rights", RawBiscuit.Text(RawBiscuit.Authority(User, AuthorityCode(Id(User), rights).Replace(ToolCheck(rights), "check if tool($t);", StringComparison.Ordinal))));
        yield return ("authority without time check", RawBiscuit.Text(RawBiscuit.Authority(User, AuthorityCode(Id(User), rights).Replace($"check if time($t), $t <= {Date(RootExpiry)};", string.Empty, StringComparison.Ordinal))));
        yield return ("unknown authority fact", RawBiscuit.Text(RawBiscuit.Authority(User, AuthorityCode(Id(User), rights, extra: "admin(true);"))));
        yield return ("no rights", RawBiscuit.Text(RawBiscuit.Authority(User, AuthorityCode(Id(User), rights).Replace("right(\"tool:search\");", string.Empty, StringComparison.Ordinal))));
        yield return ("invalid right", RawBiscuit.Text(RawBiscuit.Authority(User, AuthorityCode(Id(User), ["tool: x"]))));
        yield return ("rights other than the check", RawBiscuit.Text(RawBiscuit.Authority(User, AuthorityCode(Id(User), rights, extra: "right(\"tool:delete\");"))));
        yield return ("tool check as a set", RawBiscuit.Text(RawBiscuit.Authority(User, AuthorityCode(Id(User), rights).Replace("[\"tool:search\"]", "{\"tool:search\"}", StringComparison.Ordinal))));
        yield return ("empty exact-match array", RawBiscuit.Text(RawBiscuit.Authority(User, AuthorityCode(Id(User), rights).Replace("[\"tool:search\"]", "[]", StringComparison.Ordinal))));
        yield return ("no max_depth", RawBiscuit.Text(RawBiscuit.Authority(User, AuthorityCode(Id(User), rights).Replace("max_depth(3);", string.Empty, StringComparison.Ordinal))));
        yield return ("pattern in the exact-match array", RawBiscuit.Text(RawBiscuit.Authority(User, AuthorityCode(Id(User), rights).Replace("[\"tool:search\"]", "[\"tool:*\"]", StringComparison.Ordinal))));
        yield return ("max_depth string", RawBiscuit.Text(RawBiscuit.Authority(User, AuthorityCode(Id(User), rights).Replace("max_depth(3)", "max_depth(\"3\")", StringComparison.Ordinal))));
        yield return ("budget not an integer", RawBiscuit.Text(RawBiscuit.Authority(User, AuthorityCode(Id(User), rights).Replace("budget_ceiling(500)", "budget_ceiling(\"500\")", StringComparison.Ordinal))));
        yield return ("two time checks", RawBiscuit.Text(RawBiscuit.Authority(User, AuthorityCode(Id(User), rights, extra: $"check if time($t), $t <= {Date(RootExpiry.AddDays(9))};"))));
        yield return ("delegation with unknown fact", RawBiscuit.Text(RawBiscuit.ThirdParty(root, User, DelegationCode(Id(User), Id(Orchestrator), "x", rights, extra: "max_depth(9);"))));
        yield return ("delegation without tool check", RawBiscuit.Text(RawBiscuit.ThirdParty(root, User, DelegationCode(Id(User), Id(Orchestrator), "x", rights).Replace(ToolCheck(rights), string.Empty, StringComparison.Ordinal))));
        yield return ("delegation with rule", RawBiscuit.Text(RawBiscuit.ThirdParty(root, User, DelegationCode(Id(User), Id(Orchestrator), "x", rights, extra: "right(\"tool:delete\") <- delegate($d);"))));
        yield return ("delegation with trusting scope", RawBiscuit.Text(RawBiscuit.ThirdParty(root, User, DelegationCode(Id(User), Id(Orchestrator), "x", rights, extra: "check if tool($t) trusting previous;"))));
        yield return ("delegation without delegate", RawBiscuit.Text(RawBiscuit.ThirdParty(root, User, DelegationCode(Id(User), Id(Orchestrator), "x", rights).Replace($"delegate(\"{Id(Orchestrator)}\");", string.Empty, StringComparison.Ordinal))));
        yield return ("delegate not an identifier", RawBiscuit.Text(RawBiscuit.ThirdParty(root, User, DelegationCode(Id(User), "bob", "x", rights))));
        yield return ("two contexts", RawBiscuit.Text(RawBiscuit.ThirdParty(root, User, DelegationCode(Id(User), Id(Orchestrator), "x", rights, extra: "context(\"y\");"))));
        yield return ("block of nothing", RawBiscuit.Text(RawBiscuit.ThirdParty(root, User, "note(\"hi\");")));
        yield return ("block after completion", RawBiscuit.Text(RawBiscuit.ThirdParty(
            RawBiscuit.ThirdParty(hop1, Orchestrator, $"completed_by(\"{Id(Orchestrator)}\");status(\"done\");"),
            Orchestrator, DelegationCode(Id(Orchestrator), Id(Specialist), "after", rights))));
        yield return ("completion with empty status", RawBiscuit.Text(RawBiscuit.ThirdParty(hop1, Orchestrator, $"completed_by(\"{Id(Orchestrator)}\");status(\" \");")));
        yield return ("completion with a check", RawBiscuit.Text(RawBiscuit.ThirdParty(hop1, Orchestrator, $"completed_by(\"{Id(Orchestrator)}\");status(\"ok\");check if tool(\"x\");")));
        yield return ("compact-looking garbage", "a.b");
    }

    private static byte[]? ReplaceSameLength(byte[] data, string from, string to)
    {
        var f = Encoding.UTF8.GetBytes(from);
        var index = data.AsSpan().IndexOf(f);
        if (index < 0)
        {
            return null;
        }

        var copy = (byte[])data.Clone();
        Encoding.UTF8.GetBytes(to).CopyTo(copy, index);
        return copy;
    }

    private static byte[] FlipLastByte(byte[] data)
    {
        var copy = (byte[])data.Clone();
        copy[^1] ^= 0x01;
        return copy;
    }

    private sealed record AipRequestFor(string Tool)
    {
        public Verification.AipAccessRequest Request => new(Tool);
    }
}
