using Aim.Biscuit;
using static Aim.Tokens.Tests.Adversarial.ChainedAttacks;
using static Aim.Tokens.Tests.TestKeys;

namespace Aim.Tokens.Tests.Adversarial;

/// <summary>
/// Attacks on the AIP-standard chained form, where delegation and completion blocks are ordinary appended (first-party)
/// Biscuit blocks that anyone holding the bytes can add. Every block here is raw Datalog text appended with Aim.Biscuit's
/// own <c>Attenuate</c> (never through <see cref="Chained.ChainedToken"/>), or protobuf surgery. Seeded.
/// </summary>
internal static class AppendedAttacks
{
    private static readonly string[] RootRights = ["tool:search", "tool:fetch"];
    private static readonly string[] Search = ["tool:search"];

    /// <summary>user -> orchestrator (both tools, $5) -> specialist (search, $1, 20 minutes), appended blocks only.</summary>
    public static BiscuitToken HonestTwoHops() =>
        RawBiscuit.FirstParty(HonestOneHop(), DelegationCode(Id(Orchestrator), Id(Specialist), "search flights", Search, 100, T0.AddMinutes(20)));

    /// <summary>An appended first hop, then an attested second hop (the forms mix).</summary>
    public static BiscuitToken HonestMixed() =>
        RawBiscuit.ThirdParty(HonestOneHop(), Orchestrator, DelegationCode(Id(Orchestrator), Id(Specialist), "search flights", Search, 100, T0.AddMinutes(20)));

    /// <summary><see cref="HonestTwoHops"/> closed by an appended completion block from the specialist.</summary>
    public static BiscuitToken HonestCompleted() =>
        RawBiscuit.FirstParty(HonestTwoHops(), $"completed_by(\"{Id(Specialist)}\");status(\"success\");cost(42);tokens(1200);");

    private static BiscuitToken HonestOneHop() =>
        RawBiscuit.FirstParty(HonestRoot(), DelegationCode(Id(User), Id(Orchestrator), "plan", RootRights, 500));

    public static IEnumerable<Attack> All()
    {
        var random = new Random(5_2027);
        var root = HonestRoot();
        var hop1 = HonestOneHop();
        var twoHops = HonestTwoHops();
        var search = new Verification.AipAccessRequest("tool:search");
        Aim.Crypto.Ed25519KeyPair[] keys = [User, Orchestrator, Specialist];

        // 1. scope widening: an appended block grants more than its parent (at hop 1, or at hop 2 above hop 1's narrowing).
        string[] wider = ["tool:delete", "tool:*", "admin:root", "tool:search2", "db:*", "tool:fetch:*", "payment:refund", "tool:searc", "x:y", "tool:web:*"];
        for (var i = 0; i < 80; i++)
        {
            var extra = wider[i % wider.Length];
            var token = i % 2 == 0
                ? RawBiscuit.FirstParty(root, DelegationCode(Id(User), Id(Orchestrator), "widen", ["tool:search", extra]))
                : RawBiscuit.FirstParty(
                    RawBiscuit.FirstParty(root, DelegationCode(Id(User), Id(Orchestrator), "narrow", Search)),
                    DelegationCode(Id(Orchestrator), Id(Specialist), "widen", ["tool:search", i % 4 == 1 ? "tool:fetch" : extra]));
            yield return new Attack("scope widening (appended block)", extra, RawBiscuit.Text(token), AipErrorCodes.ScopeInsufficient, search);
        }

        // 2. depth: more appended delegations than max_depth allows.
        for (var i = 0; i < 40; i++)
        {
            var maxDepth = i % 4;
            var hops = maxDepth + 1 + (i / 4 % 3);
            var token = RawBiscuit.Authority(User, AuthorityCode(Id(User), RootRights, maxDepth));
            for (var h = 0; h < hops; h++)
            {
                token = RawBiscuit.FirstParty(token, DelegationCode(Id(keys[h % 3]), Id(keys[(h + 1) % 3]), $"hop {h}", Search));
            }

            yield return new Attack("depth violation (appended blocks)", $"max_depth {maxDepth}, {hops} hops", RawBiscuit.Text(token), AipErrorCodes.DepthExceeded);
        }

        // 3. expiry extension: an appended block outlives its parent.
        for (var i = 0; i < 60; i++)
        {
            var later = RootExpiry.AddSeconds(1 + random.Next(0, 86_400));
            var token = i % 2 == 0
                ? RawBiscuit.FirstParty(root, DelegationCode(Id(User), Id(Orchestrator), "extend", Search, null, later))
                : RawBiscuit.FirstParty(
                    RawBiscuit.FirstParty(root, DelegationCode(Id(User), Id(Orchestrator), "short", Search, null, T0.AddMinutes(10))),
                    DelegationCode(Id(Orchestrator), Id(Specialist), "extend", Search, null, T0.AddMinutes(10).AddSeconds(1 + random.Next(0, 1200))));
            yield return new Attack("expiry extension (appended block)", Date(later), RawBiscuit.Text(token), AipErrorCodes.TokenExpired);
        }

        // 4. budget widening above an ancestor, directly or across a hop that sets none.
        for (var i = 0; i < 60; i++)
        {
            var more = 501 + random.Next(0, 100_000);
            var token = (i % 3) switch
            {
                0 => RawBiscuit.FirstParty(root, DelegationCode(Id(User), Id(Orchestrator), "spend", Search, more)),
                1 => RawBiscuit.FirstParty(
                    RawBiscuit.FirstParty(root, DelegationCode(Id(User), Id(Orchestrator), "no budget set", Search)),
                    DelegationCode(Id(Orchestrator), Id(Specialist), "spend", Search, more)),
                _ => RawBiscuit.FirstParty(RawBiscuit.FirstParty(root, DelegationCode(Id(User), Id(Orchestrator), "narrow budget", RootRights, 200)),
                    DelegationCode(Id(Orchestrator), Id(Specialist), "spend", Search, 201 + (more % 299))),
            };
            yield return new Attack("budget widening (appended block)", $"{more} cents", RawBiscuit.Text(token), AipErrorCodes.BudgetExceeded);
        }

        // 5. empty or dropped context.
        string[] empties = ["", " ", "   ", "\\t", "\\n", " \\t \\n "];
        for (var i = 0; i < 60; i++)
        {
            var parent = i % 2 == 0 ? root : hop1;
            var (from, to) = i % 2 == 0 ? (Id(User), Id(Orchestrator)) : (Id(Orchestrator), Id(Specialist));
            var code = DelegationCode(from, to, empties[i % empties.Length], Search);
            var dropped = i % 3 == 2;
            if (dropped)
            {
                code = code.Replace($"context(\"{empties[i % empties.Length]}\");", string.Empty, StringComparison.Ordinal);
            }

            yield return new Attack("empty or dropped context (appended block)", dropped ? "no context fact" : $"context(\"{empties[i % empties.Length]}\")",
                RawBiscuit.Text(RawBiscuit.FirstParty(parent, code)), AipErrorCodes.TokenMalformed);
        }

        // 6. holder mismatch: an appended block speaks for someone who does not hold the token.
        for (var i = 0; i < 60; i++)
        {
            using var stranger = FromByte((byte)(210 + (i % 20)));
            var token = (i % 5) switch
            {
                0 => RawBiscuit.FirstParty(root, DelegationCode(Id(stranger), Id(Orchestrator), "not mine", Search)),
                1 => RawBiscuit.FirstParty(hop1, DelegationCode(Id(User), Id(Specialist), "former holder", Search)),
                2 => RawBiscuit.FirstParty(hop1, DelegationCode(Id(Specialist), Id(Attacker), "the delegate-to-be", Search)),
                3 => RawBiscuit.FirstParty(twoHops, $"completed_by(\"{Id(Orchestrator)}\");status(\"success\");"),
                _ => RawBiscuit.FirstParty(twoHops, $"completed_by(\"{Id(stranger)}\");status(\"failure\");cost({random.Next(0, 1000)});"),
            };
            yield return new Attack("holder mismatch (appended block)", $"variant {i % 5}", RawBiscuit.Text(token), AipErrorCodes.TokenMalformed);
        }

        // 7. A2A: the holder's token is re-delegated onward by appending a block, then presented to the original receiver,
        //    whose identity is no longer the last delegate.
        for (var i = 0; i < 60; i++)
        {
            using var elsewhere = FromByte((byte)(170 + (i % 20)));
            var onward = i % 3 == 0 ? Id(Attacker) : Id(elsewhere);
            var token = (i % 2) switch
            {
                0 => RawBiscuit.FirstParty(twoHops, DelegationCode(Id(Specialist), onward, "onward", Search)),
                _ => RawBiscuit.FirstParty(twoHops, DelegationCode(Id(Specialist), onward, "onward, narrower", Search, 50, T0.AddMinutes(15))),
            };
            yield return new Attack("A2A receiver (appended block names another delegate)", $"variant {i % 2}", RawBiscuit.Text(token),
                AipErrorCodes.ScopeInsufficient, search) { Receiver = Id(Specialist) };
        }

        // 8. unattested blocks where the verifier requires attestation (honest appended blocks, and appended blocks that
        //    name the right agent but carry no signature of it).
        for (var i = 0; i < 60; i++)
        {
            var token = (i % 4) switch
            {
                0 => twoHops,
                1 => HonestCompleted(),
                2 => HonestMixed(), // the first hop is appended
                _ => RawBiscuit.FirstParty(RawBiscuit.ThirdParty(root, User, DelegationCode(Id(User), Id(Orchestrator), "attested", RootRights)),
                    DelegationCode(Id(Orchestrator), Id(Specialist), $"appended {i}", Search)),
            };
            yield return new Attack("unattested block (attestation required)", $"variant {i % 4}", RawBiscuit.Text(token), AipErrorCodes.SignatureInvalid, search)
            {
                RequireAttestation = true,
            };
        }

        // 9. tampered bytes of an appended chain: signature, payload, next-key bits.
        for (var i = 0; i < 60; i++)
        {
            var wire = RawBiscuit.Wire.Parse(twoHops);
            var targets = new List<int> { wire.AuthorityIndex() };
            targets.AddRange(wire.BlockIndexes());
            var target = targets[i % targets.Count];
            var fields = RawBiscuit.SignedBlockFields(wire.Fields[target].Raw);
            var field = (i / targets.Count % 3) switch { 0 => 3, 1 => 1, _ => 2 };
            var s = fields.FindIndex(f => f.Field == field);
            var bytes = (byte[])fields[s].Raw.Clone();
            string what;
            if (field == 1)
            {
                // A same-length edit of a string the block defines: the block still decodes, only its signature can tell.
                bytes = EditString(bytes, ("tool:search", "tool:sedrch"), ("plan", "pwn!"), ("search flights", "search flighTs"));
                what = $"payload string edited in block field {target}";
            }
            else
            {
                var bit = random.Next(bytes.Length * 8);
                bytes[bit / 8] ^= (byte)(1 << (bit % 8));
                what = (field == 3 ? "signature" : "next key") + $" bit {bit} of block field {target}";
            }

            fields[s] = (field, fields[s].Type, bytes);
            wire.Fields[target] = (wire.Fields[target].Field, RawBiscuit.JoinSignedBlock(fields));

            // A flipped next-key bit can make the key undecodable (malformed) before any signature is checked.
            var expected = ExpectedForTamper(wire.ToBytes());
            yield return new Attack("tampered bytes (appended chain)", what, RawBiscuit.Text(wire.ToBytes()), expected);
        }

        // 10. block removal or reordering in an appended chain.
        var threeHops = RawBiscuit.FirstParty(twoHops, DelegationCode(Id(Specialist), Id(User), "back", Search));
        for (var i = 0; i < 40; i++)
        {
            var wire = RawBiscuit.Wire.Parse(i % 2 == 0 ? threeHops : twoHops);
            var blocks = wire.BlockIndexes();
            switch (i % 4)
            {
                case 0:
                    wire.Fields.RemoveAt(blocks[random.Next(blocks.Count)]);
                    break;
                case 1:
                    (wire.Fields[blocks[0]], wire.Fields[blocks[^1]]) = (wire.Fields[blocks[^1]], wire.Fields[blocks[0]]);
                    break;
                case 2:
                    wire.Fields.Insert(blocks[^1] + 1, wire.Fields[blocks[0]]);
                    break;
                default:
                    wire.Fields.RemoveAt(blocks[^1]);
                    break;
            }

            // Appended blocks share one symbol table, so a reshuffle can leave a block that no longer decodes (malformed);
            // every other reshuffle breaks the signature chain.
            yield return new Attack("block removal / reordering (appended chain)", $"variant {i % 4}", RawBiscuit.Text(wire.ToBytes()), ExpectedForTamper(wire.ToBytes()));
        }

        // 11. authority smuggled into an appended block: facts, rules, checks or scopes that AIP blocks never hold.
        string[] smuggled =
        [
            "identity(\"" + Id(Attacker) + "\");", "max_depth(64);", "subject(\"" + Id(Attacker) + "\");", "issued_at(2020-01-01T00:00:00Z);",
            "right(\"tool:delete\") <- delegate($d);", "check if true;", "check if tool($t) trusting previous;", "status(\"success\");",
            "budget_ceiling(1);budget_ceiling(999999);", "delegate(\"" + Id(Attacker) + "\");",
        ];
        for (var i = 0; i < 60; i++)
        {
            var extra = smuggled[i % smuggled.Length];
            var code = i % 3 == 2
                ? DelegationCode(Id(User), Id(Orchestrator), "x", Search).Replace("[\"tool:search\"]", "{\"tool:search\"}", StringComparison.Ordinal)
                : DelegationCode(Id(User), Id(Orchestrator), "x", Search, extra: extra);
            yield return new Attack("authority smuggled into an appended block", i % 3 == 2 ? "tool check written as a set, not the draft's array" : extra,
                RawBiscuit.Text(RawBiscuit.FirstParty(root, code)), AipErrorCodes.TokenMalformed, search);
        }
    }

    private static byte[] EditString(byte[] payload, params (string From, string To)[] edits)
    {
        foreach (var (from, to) in edits)
        {
            var index = payload.AsSpan().IndexOf(System.Text.Encoding.UTF8.GetBytes(from));
            if (index >= 0)
            {
                System.Text.Encoding.UTF8.GetBytes(to).CopyTo(payload, index);
                return payload;
            }
        }

        throw new InvalidOperationException("no editable string in the block");
    }

    // A flipped bit in a block payload may break the protobuf (the token is then malformed); otherwise a signature fails.
    private static string ExpectedForTamper(byte[] bytes)
    {
        try
        {
            BiscuitToken.FromBytesUnverified(bytes);
            return AipErrorCodes.SignatureInvalid;
        }
        catch (BiscuitException)
        {
            return AipErrorCodes.TokenMalformed;
        }
    }
}
