using System.Buffers.Text;
using System.Text;
using Aim.Crypto;

namespace Aim.Tokens.Tests.Adversarial;

/// <summary>Builds JWS compact tokens byte by byte, with no AIP validation (the attacker's toolbox).</summary>
internal static class RawJws
{
    public const string Header = """{"alg":"EdDSA","typ":"aip+jwt"}""";

    public static string B64(string text) => Base64Url.EncodeToString(Encoding.UTF8.GetBytes(text));

    public static string B64(byte[] bytes) => Base64Url.EncodeToString(bytes);

    public static string Sign(string headerJson, string payloadJson, Ed25519KeyPair key) => SignEncoded(B64(headerJson), B64(payloadJson), key);

    public static string SignEncoded(string header, string payload, Ed25519KeyPair key)
    {
        var input = header + "." + payload;
        return input + "." + B64(key.Sign(Encoding.ASCII.GetBytes(input)));
    }

    public static string Payload(string iss, string sub, string scopeJson = """["tool:search","tool:fetch"]""", string? budget = "5", string maxDepth = "2", long? iat = null, long? exp = null, string extra = "")
    {
        var issued = iat ?? TestKeys.T0.ToUnixTimeSeconds();
        var expires = exp ?? issued + 1800;
        var budgetPart = budget is null ? string.Empty : $",\"budget_usd\":{budget}";
        return $"{{\"iss\":\"{iss}\",\"sub\":\"{sub}\",\"scope\":{scopeJson}{budgetPart},\"max_depth\":{maxDepth},\"iat\":{issued},\"exp\":{expires}{extra}}}";
    }
}
