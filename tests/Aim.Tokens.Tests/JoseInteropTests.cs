using System.Buffers.Text;
using System.Diagnostics;
using Aim.Tokens.Compact;
using Aim.Tokens.Verification;
using static Aim.Tokens.Tests.TestKeys;

namespace Aim.Tokens.Tests;

/// <summary>
/// Compact tokens against a standard JOSE library with EdDSA (RFC 8037) support and no custom code: the Python
/// <c>joserfc</c> package that is on the project's machines. Both directions.
/// </summary>
public sealed class JoseInteropTests
{
    private const string VerifyScript = """
        import json, sys, warnings
        warnings.simplefilter("ignore")
        from joserfc import jwt
        from joserfc.jwk import OKPKey
        token, x = sys.argv[1], sys.argv[2]
        key = OKPKey.import_key({"kty": "OKP", "crv": "Ed25519", "x": x})
        decoded = jwt.decode(token, key, algorithms=["EdDSA"])
        print(json.dumps({"header": decoded.header, "claims": decoded.claims}, sort_keys=True))
        """;

    private const string SignScript = """
        import sys, warnings
        warnings.simplefilter("ignore")
        from joserfc import jwt
        from joserfc.jwk import OKPKey
        d, x, claims = sys.argv[1], sys.argv[2], sys.argv[3]
        key = OKPKey.import_key({"kty": "OKP", "crv": "Ed25519", "x": x, "d": d})
        import json
        print(jwt.encode({"alg": "EdDSA", "typ": "aip+jwt"}, json.loads(claims), key, algorithms=["EdDSA"]))
        """;

    [Fact]
    public void Our_compact_token_verifies_in_joserfc()
    {
        using var root = FromByte(1);
        using var agent = FromByte(2);
        var token = CompactToken.Create(root, Claims(root, agent));

        var (exit, stdout, stderr) = Python(VerifyScript, token, Base64Url.EncodeToString(root.PublicKey));

        Assert.True(exit == 0, stderr);
        Assert.Contains("\"alg\": \"EdDSA\"", stdout, StringComparison.Ordinal);
        Assert.Contains("\"typ\": \"aip+jwt\"", stdout, StringComparison.Ordinal);
        Assert.Contains($"\"iss\": \"{Id(root)}\"", stdout, StringComparison.Ordinal);
        Assert.Contains("\"scope\": [\"tool:search\", \"tool:fetch\"]", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void Joserfc_rejects_a_tampered_token_too()
    {
        using var root = FromByte(1);
        using var agent = FromByte(2);
        var token = CompactToken.Create(root, Claims(root, agent));
        var parts = token.Split('.');
        var tampered = parts[0] + "." + Base64Url.EncodeToString(System.Text.Encoding.UTF8.GetBytes(
            System.Text.Encoding.UTF8.GetString(Base64Url.DecodeFromChars(parts[1])).Replace("tool:fetch", "tool:admin", StringComparison.Ordinal))) + "." + parts[2];

        var (exit, _, stderr) = Python(VerifyScript, tampered, Base64Url.EncodeToString(root.PublicKey));
        Assert.NotEqual(0, exit);
        Assert.Contains("BadSignature", stderr, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Token_signed_by_joserfc_verifies_in_our_verifier()
    {
        using var root = FromByte(1);
        using var agent = FromByte(2);
        var iat = T0.ToUnixTimeSeconds();
        var claims = $$"""{"iss":"{{Id(root)}}","sub":"{{Id(agent)}}","scope":["tool:search"],"budget_usd":1.5,"max_depth":0,"iat":{{iat}},"exp":{{iat + 600}}}""";

        var (exit, stdout, stderr) = Python(SignScript, Base64Url.EncodeToString(root.ExportSeed()), Base64Url.EncodeToString(root.PublicKey), claims);
        Assert.True(exit == 0, stderr);

        var verified = await Verifier(new ManualClock(T0), root).VerifyAsync(stdout.Trim(), new AipAccessRequest("tool:search", 1.5m));
        Assert.Equal(1.5m, verified.BudgetUsd);
        Assert.Equal(Id(agent), verified.Subject);
    }

    private static (int Exit, string Stdout, string Stderr) Python(string script, params string[] args)
    {
        var start = new ProcessStartInfo("python3") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add(script);
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(60_000))
        {
            process.Kill();
            throw new TimeoutException("python3 did not finish");
        }

        return (process.ExitCode, stdout.Result, stderr.Result);
    }
}
