using System.CommandLine;
using System.Text;
using System.Text.Json;
using Aim.Biscuit;
using Aim.Biscuit.Datalog;

namespace Aim.Cli.Commands;

/// <summary>
/// <c>aim biscuit keypair|generate|attenuate|seal|inspect</c>: Biscuit v3 tokens, mirroring the Rust
/// biscuit-cli. Tokens are read and printed as base64url text; <c>-</c> or no file means standard input.
/// Exit codes: 0 success (token valid, and authorized when an authorizer is given), 1 valid but not
/// authorized, 2 invalid token, bad input or usage error.
/// </summary>
internal static class BiscuitCommand
{
    /// <summary>
    /// Run limits of the CLI's authorizer: the specification's fact and iteration bounds, with 1 s
    /// instead of 1 ms so a cold process start (JIT, first regex compilation) does not time out.
    /// </summary>
    private static readonly RunLimits CliLimits = RunLimits.Default with { MaxTime = TimeSpan.FromSeconds(1) };

    /// <summary>The CLI's JSON (indented, snake_case, Datalog quotes readable).</summary>
    private static JsonSerializerOptions Json => Cli.Json;

    public static Command Create()
    {
        var command = new Command("biscuit", "Biscuit v3 tokens: key pairs, generation, attenuation, sealing and inspection (like biscuit-cli).");
        command.Subcommands.Add(Keypair());
        command.Subcommands.Add(Generate());
        command.Subcommands.Add(Attenuate());
        command.Subcommands.Add(Seal());
        command.Subcommands.Add(Inspect());
        return command;
    }

    private static Argument<string?> InputArgument(string what) => new("FILE")
    {
        Description = $"File holding the {what}; '-' or nothing reads standard input.",
        Arity = ArgumentArity.ZeroOrOne,
    };

    private static Command Keypair()
    {
        var alg = new Option<string>("--alg") { Description = "Key algorithm: ed25519 or secp256r1.", DefaultValueFactory = _ => "ed25519" };
        alg.AcceptOnlyFromAmong("ed25519", "secp256r1");
        var command = new Command("keypair", "Generate a key pair and print 'private: <alg>-private/<hex>' and 'public: <alg>/<hex>'.") { alg };
        command.SetAction(p => Run(() =>
        {
            using var key = KeyPair.Generate(p.GetValue(alg) == "secp256r1" ? Algorithm.Secp256r1 : Algorithm.Ed25519);
            Console.WriteLine($"private: {key.ExportPrivateKeyString()}");
            Console.WriteLine($"public: {key.PublicKey}");
            return Cli.Ok;
        }));
        return command;
    }

    private static Command Generate()
    {
        var privateKey = new Option<string>("--private-key") { Description = "Root private key, <alg>-private/<hex>.", Required = true };
        var rootKeyId = new Option<uint?>("--root-key-id") { Description = "Root key id hint stored in the token." };
        var input = InputArgument("authority block's Datalog");
        var command = new Command("generate", "Create a token whose authority block is the Datalog read from FILE (or stdin); print it as base64url.")
        {
            privateKey, rootKeyId, input,
        };
        command.SetAction(p => Run(() =>
        {
            using var root = KeyPair.Parse(p.GetValue(privateKey)!);
            var builder = BiscuitToken.CreateBuilder().AddCode(ReadText(p.GetValue(input)));
            builder.RootKeyId = p.GetValue(rootKeyId);
            Console.WriteLine(builder.Build(root).ToBase64());
            return Cli.Ok;
        }));
        return command;
    }

    private static Command Attenuate()
    {
        var block = new Option<string>("--block") { Description = "Datalog of the block to append.", Required = true };
        var publicKey = new Option<string?>("--public-key") { Description = "Root public key, <alg>/<hex>: verify the token before attenuating it." };
        var input = InputArgument("token");
        var command = new Command("attenuate", "Append a block to the token read from FILE (or stdin); print the attenuated token.") { block, publicKey, input };
        command.SetAction(p => Run(() =>
        {
            var token = ReadToken(p.GetValue(input), p.GetValue(publicKey));
            Console.WriteLine(token.Attenuate(new BlockBuilder().AddCode(p.GetValue(block)!)).ToBase64());
            return Cli.Ok;
        }));
        return command;
    }

    private static Command Seal()
    {
        var publicKey = new Option<string?>("--public-key") { Description = "Root public key, <alg>/<hex>: verify the token before sealing it." };
        var input = InputArgument("token");
        var command = new Command("seal", "Seal the token read from FILE (or stdin) so no block can be added; print it.") { publicKey, input };
        command.SetAction(p => Run(() =>
        {
            Console.WriteLine(ReadToken(p.GetValue(input), p.GetValue(publicKey)).Seal().ToBase64());
            return Cli.Ok;
        }));
        return command;
    }

    private static Command Inspect()
    {
        var publicKey = new Option<string>("--public-key") { Description = "Root public key, <alg>/<hex>.", Required = true };
        var authorizeWith = new Option<string?>("--authorize-with") { Description = "Authorizer Datalog (facts, rules, checks, policies)." };
        var authorizeWithFile = new Option<FileInfo?>("--authorize-with-file") { Description = "File holding the authorizer Datalog." };
        var json = new Option<bool>("--json") { Description = "Print JSON." };
        var input = InputArgument("token");
        var command = new Command("inspect",
            "Verify the token read from FILE (or stdin) with the root key, print its blocks and, with an authorizer, the result. " +
            "Exit 0 when valid (and authorized), 1 when valid but not authorized, 2 when not a valid token for that key.")
        {
            publicKey, authorizeWith, authorizeWithFile, json, input,
        };
        command.SetAction(p => Run(() =>
        {
            if (p.GetValue(authorizeWith) is not null && p.GetValue(authorizeWithFile) is not null)
            {
                // Exit 2 (usage error), not the parser's 1, which here means "valid but not authorized".
                Console.Error.WriteLine("aim: usage: use either --authorize-with or --authorize-with-file, not both.");
                return Cli.Error;
            }
            var authorizerCode = p.GetValue(authorizeWith) ?? (p.GetValue(authorizeWithFile) is { } f ? File.ReadAllText(f.FullName) : null);
            var asJson = p.GetValue(json);

            BiscuitToken token;
            try
            {
                token = ReadToken(p.GetValue(input), p.GetValue(publicKey));
            }
            catch (BiscuitException e)
            {
                if (asJson) Console.WriteLine(JsonSerializer.Serialize(new { valid = false, error = new { code = e.Code, message = e.Message } }, Json));
                else Console.WriteLine($"INVALID: {e.Code}: {e.Message}");
                return Cli.Error;
            }

            Outcome? outcome = null;
            if (authorizerCode is not null)
            {
                var authorizer = new Authorizer { Limits = CliLimits };
                authorizer.AddCode(authorizerCode);
                authorizer.AddToken(token);
                outcome = Authorize(authorizer);
            }

            if (asJson) PrintJson(token, outcome);
            else PrintText(token, outcome);
            return outcome is { Authorized: false } ? Cli.Negative : Cli.Ok;
        }));
        return command;
    }

    private sealed record Outcome(bool Authorized, int? Policy, BiscuitException? Error, AuthorizerWorld World);

    private static Outcome Authorize(Authorizer authorizer)
    {
        try
        {
            var policy = authorizer.Authorize();
            return new Outcome(true, policy, null, authorizer.Snapshot());
        }
        catch (BiscuitLogicException e)
        {
            return new Outcome(false, e.Policy?.Index, e, authorizer.Snapshot());
        }
        catch (BiscuitException e) when (e is BiscuitExecutionException or BiscuitRunLimitException)
        {
            return new Outcome(false, null, e, authorizer.Snapshot());
        }
    }

    private static void PrintText(BiscuitToken token, Outcome? outcome)
    {
        var sb = new StringBuilder();
        sb.Append("Valid token").Append(token.RootKeyId is { } id ? $" (root key id {id})" : "").Append(token.IsSealed ? ", sealed" : "").Append('\n');
        for (var i = 0; i < token.Blocks.Count; i++)
        {
            var block = token.Blocks[i];
            sb.Append(i == 0 ? "Authority block" : $"Block {i}").Append($" (version {block.Version}");
            if (block.ExternalKey is not null) sb.Append(", third party ").Append(block.ExternalKey);
            sb.Append("):\n");
            sb.Append("  revocation id: ").Append(Convert.ToHexStringLower(token.RevocationIds[i])).Append('\n');
            if (block.Context is not null) sb.Append("  context: ").Append(block.Context).Append('\n');
            foreach (var line in block.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries)) sb.Append("  ").Append(line).Append('\n');
        }
        if (outcome is not null)
        {
            if (outcome.Authorized)
            {
                sb.Append($"Authorized: allow policy {outcome.Policy} matched\n");
            }
            else
            {
                sb.Append("NOT authorized: ").Append(outcome.Error!.Code).Append(": ").Append(outcome.Error.Message).Append('\n');
                if (outcome.Error is BiscuitLogicException logic)
                    foreach (var c in logic.FailedChecks) sb.Append("  failed ").Append(Describe(c)).Append(": ").Append(c.Rule).Append('\n');
            }
            sb.Append("World:\n");
            foreach (var line in outcome.World.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries)) sb.Append("  ").Append(line).Append('\n');
        }
        Console.Write(sb.ToString());
    }

    private static string Describe(FailedCheck check) => check switch
    {
        FailedBlockCheck b => $"block {b.BlockId} check {b.CheckId}",
        _ => $"authorizer check {check.CheckId}",
    };

    private static void PrintJson(BiscuitToken token, Outcome? outcome)
    {
        var blocks = token.Blocks.Select((b, i) => new
        {
            index = i,
            version = b.Version,
            external_key = b.ExternalKey?.ToString(),
            context = b.Context,
            revocation_id = Convert.ToHexStringLower(token.RevocationIds[i]),
            code = b.ToString(),
        }).ToList();
        object? authorization = outcome is null ? null : new
        {
            authorized = outcome.Authorized,
            policy = outcome.Policy,
            error = outcome.Error is null ? null : new
            {
                code = outcome.Error.Code,
                message = outcome.Error.Message,
                failed_checks = (outcome.Error as BiscuitLogicException)?.FailedChecks.Select(c => new
                {
                    block_id = (c as FailedBlockCheck)?.BlockId,
                    check_id = c.CheckId,
                    rule = c.Rule,
                }),
            },
            world = new
            {
                facts = outcome.World.Facts.Select(f => new { origin = f.Origin, facts = f.Facts }),
                rules = outcome.World.Rules.Select(r => new { origin = r.Origin, rules = r.Items }),
                checks = outcome.World.Checks.Select(c => new { origin = c.Origin, checks = c.Items }),
                policies = outcome.World.Policies,
            },
        };
        Console.WriteLine(JsonSerializer.Serialize(new
        {
            valid = true,
            root_key_id = token.RootKeyId,
            @sealed = token.IsSealed,
            blocks,
            authorization,
        }, Json));
    }

    private static BiscuitToken ReadToken(string? input, string? publicKey)
    {
        var (text, raw) = ReadTokenInput(input);
        if (publicKey is null)
            return text is not null ? BiscuitToken.FromBase64Unverified(text) : BiscuitToken.FromBytesUnverified(raw);
        var root = PublicKey.Parse(publicKey);
        return text is not null ? BiscuitToken.FromBase64(text, root) : BiscuitToken.FromBytes(raw, root);
    }

    /// <summary>Reads a token: base64url text (optionally prefixed <c>biscuit:</c>) or raw protobuf bytes.</summary>
    private static (string? Text, byte[] Raw) ReadTokenInput(string? input)
    {
        byte[] raw;
        if (input is null or "-")
        {
            using var stdin = Console.OpenStandardInput();
            using var buffer = new MemoryStream();
            stdin.CopyTo(buffer);
            raw = buffer.ToArray();
        }
        else
        {
            raw = File.ReadAllBytes(input);
        }
        var text = Encoding.UTF8.GetString(raw).Trim();
        var looksLikeText = text.Length > 0 && text.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '=' or ':');
        return (looksLikeText ? text : null, raw);
    }

    private static string ReadText(string? input)
    {
        if (input is null or "-") return Console.In.ReadToEnd();
        return File.ReadAllText(input);
    }

    /// <summary>Biscuit's typed errors become a one-line message and exit code 2; other errors go through <see cref="Cli.Run"/>.</summary>
    private static int Run(Func<int> body) => Cli.Run(() =>
    {
        try
        {
            return body();
        }
        catch (BiscuitException e)
        {
            Console.Error.WriteLine($"aim: biscuit.{e.Code}: {e.Message}");
            return Cli.Error;
        }
    });
}
