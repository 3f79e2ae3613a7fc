using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Aim.Identity;
using Aim.Tokens;
using Aim.Tokens.Chained;
using Aim.Tokens.Compact;
using Aim.Tokens.Identity;
using Aim.Tokens.Verification;

namespace Aim.Cli.Commands;

/// <summary>
/// <c>aim token mint|delegate|complete|verify|inspect</c>: AIP tokens from the command line. Keys come from the agent key
/// store (AIM_HOME). A token argument of <c>-</c> (or none) is read from standard input.
/// </summary>
internal static class TokenCommand
{
    public static Command Create()
    {
        var command = new Command("token", "AIP tokens: mint, delegate, complete, verify and inspect compact (JWS) and chained (Biscuit) tokens.");
        command.Subcommands.Add(Mint());
        command.Subcommands.Add(Delegate());
        command.Subcommands.Add(Complete());
        command.Subcommands.Add(Verify());
        command.Subcommands.Add(Inspect());
        return command;
    }

    private static Argument<string?> TokenArgument() => new("TOKEN")
    {
        Description = "The token, or '-' (or nothing) to read it from standard input.",
        Arity = ArgumentArity.ZeroOrOne,
    };

    private static Option<string> AgentOption() => new("--agent") { Description = "The signing agent (its key is loaded or created in AIM_HOME).", Required = true };

    private static Option<string[]> ScopeOption() => new("--scope") { Description = "A scope (tool:search, db:read, tool:*); repeat for several.", Required = true, AllowMultipleArgumentsPerToken = true };

    private static Option<decimal?> BudgetOption() => new("--budget") { Description = "Budget in USD." };

    private static Option<bool> AttestedOption(string what) => new("--attested")
    {
        Description = $"Write the {what} block as a third-party block signed by --agent (proves who wrote it; one more signature to verify). Default: an ordinary appended block, the AIP-standard form.",
    };

    private static Option<string> TtlOption(string fallback) => new("--ttl") { Description = $"Lifetime, e.g. 90s, 15m, 1h (default {fallback}).", DefaultValueFactory = _ => fallback };

    private static Command Mint()
    {
        var agent = AgentOption();
        var sub = new Option<string>("--sub") { Description = "The AIP identifier of the agent the token is for.", Required = true };
        var scope = ScopeOption();
        var budget = BudgetOption();
        var maxDepth = new Option<int>("--max-depth") { Description = "Further delegations allowed (0 = none).", DefaultValueFactory = _ => 0 };
        var ttl = TtlOption("15m");
        var mode = new Option<string>("--mode") { Description = "compact (JWS, one hop) or chained (Biscuit).", DefaultValueFactory = _ => "compact" };
        mode.AcceptOnlyFromAmong("compact", "chained");
        var command = new Command("mint", "Mint a root token signed by --agent.") { agent, sub, scope, budget, maxDepth, ttl, mode };
        command.SetAction(p => Cli.Run(() =>
        {
            using var key = LoadKey(p.GetValue(agent)!);
            var now = DateTimeOffset.UtcNow;
            var expires = now + ParseDuration(p.GetValue(ttl)!);
            var scopes = p.GetValue(scope)!;
            var subject = p.GetValue(sub)!;
            var token = p.GetValue(mode) == "chained"
                ? ChainedToken.Create(key.KeyPair, new AipAuthority(key.Identity.AipId, scopes, p.GetValue(maxDepth), expires, p.GetValue(budget),
                    subject == key.Identity.AipId ? null : subject))
                : CompactToken.Create(key.KeyPair, new AipTokenClaims(key.Identity.AipId, subject, scopes, p.GetValue(budget), p.GetValue(maxDepth), now, expires));
            Console.WriteLine(token);
            return Cli.Ok;
        }));
        return command;
    }

    private static Command Delegate()
    {
        var agent = AgentOption();
        var to = new Option<string>("--to") { Description = "The AIP identifier of the receiving agent.", Required = true };
        var scope = ScopeOption();
        var budget = BudgetOption();
        var ttl = new Option<string?>("--ttl") { Description = "Lifetime of the delegation (capped by the parent's expiry)." };
        var context = new Option<string>("--context") { Description = "Why the authority is handed on (required, non-empty).", Required = true };
        var attested = AttestedOption("delegation");
        var token = TokenArgument();
        var command = new Command("delegate", "Append a delegation block (chained tokens) from --agent, the current holder.") { agent, to, scope, budget, ttl, context, attested, token };
        command.SetAction(p => Cli.Run(() =>
        {
            var parent = ReadToken(p.GetValue(token));
            if (!ChainedToken.LooksChained(parent))
            {
                throw new AipException(AipErrorCodes.TokenMalformed, "Compact tokens are single-hop; mint with --mode chained to delegate.");
            }

            using var key = LoadKey(p.GetValue(agent)!);
            DateTimeOffset? expires = p.GetValue(ttl) is { } t ? DateTimeOffset.UtcNow + ParseDuration(t) : null;
            Console.WriteLine(ChainedToken.Delegate(parent, key.KeyPair, new AipDelegation(p.GetValue(to)!, p.GetValue(scope)!, p.GetValue(context)!, p.GetValue(budget), expires),
                p.GetValue(attested) ? AipBlockForm.Attested : AipBlockForm.Standard));
            return Cli.Ok;
        }));
        return command;
    }

    private static Command Complete()
    {
        var agent = AgentOption();
        var status = new Option<string>("--status") { Description = "Outcome, e.g. success or failure.", Required = true };
        var cost = new Option<decimal?>("--cost") { Description = "Cost in USD." };
        var tokens = new Option<long?>("--tokens") { Description = "Model tokens used." };
        var resultHash = new Option<string?>("--result-hash") { Description = "A hash of the result." };
        var duration = new Option<long?>("--duration-ms") { Description = "Duration in milliseconds." };
        var attested = AttestedOption("completion");
        var token = TokenArgument();
        var command = new Command("complete", "Close a chained token with a completion block from --agent, the holder.") { agent, status, cost, tokens, resultHash, duration, attested, token };
        command.SetAction(p => Cli.Run(() =>
        {
            var parent = ReadToken(p.GetValue(token));
            using var key = LoadKey(p.GetValue(agent)!);
            Console.WriteLine(ChainedToken.Complete(parent, key.KeyPair,
                new AipCompletion(p.GetValue(status)!, p.GetValue(resultHash), p.GetValue(cost), p.GetValue(tokens), p.GetValue(duration)),
                p.GetValue(attested) ? AipBlockForm.Attested : AipBlockForm.Standard));
            return Cli.Ok;
        }));
        return command;
    }

    private static Command Verify()
    {
        // One value per --trusted-key (repeat the option for several), so a token given after it is not taken for a key.
        var trusted = new Option<string[]>("--trusted-key") { Description = "A trusted root (aip:key:ed25519:z...); repeat for several." };
        var trustStore = new Option<string?>("--trust-store")
        {
            Description = "A trust store file: {\"trusted_roots\":[...],\"pinned\":[{\"id\":\"aip:web:...\",\"keys\":[...]}]} (trusted roots, and the keys of aip:web roots).",
        };
        var maxLifetime = new Option<string>("--max-lifetime")
        {
            Description = "Longest compact token lifetime (exp - iat) accepted: 90s, 15m, 1h, 30d, or 'none' (default 1h, AIP's recommendation).",
            DefaultValueFactory = _ => "1h",
        };
        var tool = new Option<string?>("--tool") { Description = "Also require this tool or capability to be in scope." };
        var json = new Option<bool>("--json") { Description = "Print the result as JSON." };
        var requireAttestation = new Option<bool>("--require-attestation") { Description = "Refuse chained tokens whose delegation or completion blocks are not signed by the agent they name." };
        var token = TokenArgument();
        var command = new Command("verify", "Verify a token (V1-V7); exit 0 when valid (and the tool in scope), 1 otherwise with the AIP error code.")
        {
            trusted, trustStore, maxLifetime, tool, json, requireAttestation, token,
        };
        command.Validators.Add(r =>
        {
            if ((r.GetValue(trusted) is not { Length: > 0 }) && r.GetValue(trustStore) is null)
            {
                r.AddError("Give at least one --trusted-key or a --trust-store file.");
            }
        });
        command.SetAction(p => Cli.Run(() =>
        {
            var text = ReadToken(p.GetValue(token), allowMissing: true);
            var keys = new InMemoryTrustStore(p.GetValue(trusted) ?? []);
            IAipTrustStore store = p.GetValue(trustStore) is { } file ? new CombinedTrustStore(new FileTrustStore(file), keys) : keys;
            var lifetimeText = p.GetValue(maxLifetime)!;
            TimeSpan? lifetime = string.Equals(lifetimeText.Trim(), "none", StringComparison.OrdinalIgnoreCase) ? null : ParseDuration(lifetimeText);
            var verifier = new AipVerifier(new AipVerifierOptions
            {
                TrustStore = store,
                RequireAttestation = p.GetValue(requireAttestation),
                MaxLifetime = lifetime,
            });
            var (verified, error) = verifier.TryVerifyAsync(text, new AipAccessRequest(p.GetValue(tool))).AsTask().GetAwaiter().GetResult();
            if (verified is null)
            {
                if (p.GetValue(json))
                {
                    Console.WriteLine(error!.ToErrorJson());
                }
                else
                {
                    Console.WriteLine($"invalid: {error!.Code}: {error.Message}");
                }

                return Cli.Negative;
            }

            if (p.GetValue(json))
            {
                Console.WriteLine(Describe(verified).ToJsonString(Cli.Json));
            }
            else
            {
                Console.WriteLine($"valid ({(verified.Mode == AipTokenMode.Compact ? "compact" : "chained")}), expires {verified.ExpiresAt:u}");
                Console.WriteLine(verified.DescribeProvenance());
            }

            return Cli.Ok;
        }));
        return command;
    }

    private static Command Inspect()
    {
        var token = TokenArgument();
        var command = new Command("inspect", "Print a token's contents WITHOUT verifying it.") { token };
        command.SetAction(p => Cli.Run(() =>
        {
            var text = ReadToken(p.GetValue(token));
            if (CompactToken.LooksCompact(text))
            {
                var claims = CompactToken.Decode(text);
                var node = new JsonObject
                {
                    ["mode"] = "compact",
                    ["header"] = JsonNode.Parse(CompactToken.Header),
                    ["iss"] = claims.Issuer,
                    ["sub"] = claims.Subject,
                    ["scope"] = new JsonArray(claims.Scopes.Select(s => (JsonNode)s!).ToArray()),
                    ["max_depth"] = claims.MaxDepth,
                    ["iat"] = claims.IssuedAt.ToString("u", CultureInfo.InvariantCulture),
                    ["exp"] = claims.ExpiresAt.ToString("u", CultureInfo.InvariantCulture),
                };
                if (claims.BudgetUsd is { } b)
                {
                    node["budget_usd"] = b;
                }

                Console.WriteLine(node.ToJsonString(Cli.Json));
            }
            else
            {
                Console.WriteLine("mode: chained (signatures NOT verified)");
                Console.WriteLine(ChainedToken.Describe(text));
            }

            Console.Error.WriteLine("note: inspect does not verify; use 'aim token verify'.");
            return Cli.Ok;
        }));
        return command;
    }

    private static JsonObject Describe(AipVerifiedToken token)
    {
        var node = new JsonObject
        {
            ["valid"] = true,
            ["mode"] = token.Mode == AipTokenMode.Compact ? "compact" : "chained",
            ["issuer"] = token.Issuer,
            ["subject"] = token.Subject,
            ["scope"] = new JsonArray(token.Scopes.Select(s => (JsonNode)s!).ToArray()),
            ["depth"] = token.Depth,
            ["max_depth"] = token.MaxDepth,
            ["expires"] = token.ExpiresAt.ToString("u", CultureInfo.InvariantCulture),
            ["hops"] = new JsonArray(token.Hops.Select(h => (JsonNode)new JsonObject
            {
                ["delegator"] = h.Delegator,
                ["delegate"] = h.Delegate,
                ["context"] = h.Context,
                ["scope"] = new JsonArray(h.Scopes.Select(s => (JsonNode)s!).ToArray()),
            }).ToArray()),
        };
        if (token.BudgetUsd is { } budget)
        {
            node["budget_usd"] = budget;
        }

        if (token.Completion is { } c)
        {
            node["completion"] = JsonSerializer.SerializeToNode(new { status = c.Status, result_hash = c.ResultHash, cost_usd = c.CostUsd, tokens = c.Tokens, duration_ms = c.DurationMs });
        }

        return node;
    }

    private static AgentKey LoadKey(string agent) => new AgentKeyStore(AgentKeyStore.DefaultHome()).LoadOrCreate(agent);

    private static string ReadToken(string? argument, bool allowMissing = false)
    {
        var text = argument is null or "-" ? Console.In.ReadToEnd() : argument;
        text = text.Trim();
        if (text.Length == 0 && !allowMissing)
        {
            throw new AipException(AipErrorCodes.TokenMissing, "No token given (argument or standard input).");
        }

        return text;
    }

    internal static TimeSpan ParseDuration(string text)
    {
        text = text.Trim();
        if (text.Length >= 2 && long.TryParse(text.AsSpan(0, text.Length - 1), NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0)
        {
            switch (char.ToLowerInvariant(text[^1]))
            {
                case 's': return TimeSpan.FromSeconds(n);
                case 'm': return TimeSpan.FromMinutes(n);
                case 'h': return TimeSpan.FromHours(n);
                case 'd': return TimeSpan.FromDays(n);
            }
        }

        if (TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out var span) && span > TimeSpan.Zero)
        {
            return span;
        }

        throw new AimConfigurationException($"'{text}' is not a duration (use 90s, 15m, 1h or hh:mm:ss).");
    }
}

/// <summary>The CLI's trust store: a file's roots and pins, plus the roots given with <c>--trusted-key</c>.</summary>
internal sealed class CombinedTrustStore(IAipTrustStore file, IAipTrustStore keys) : IAipTrustStore
{
    public bool IsTrustedRoot(string aipId) => file.IsTrustedRoot(aipId) || keys.IsTrustedRoot(aipId);

    public bool TryGetPinnedKeys(string aipId, out IReadOnlyList<AipPublicKey> pinned) => file.TryGetPinnedKeys(aipId, out pinned);
}
