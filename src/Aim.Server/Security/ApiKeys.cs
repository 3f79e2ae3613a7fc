using System.Security.Cryptography;
using System.Text;

namespace Aim.Server.Security;

/// <summary>
/// API key material. A key is <c>aim_</c> + 32 random bytes (base64url); at rest only its SHA-256 is kept, and its
/// lookup id is the first 16 hex digits of that hash (keys are high-entropy, so a plain hash is enough and a
/// leaked database gives no usable key). Comparison is constant-time.
/// </summary>
internal static class ApiKeys
{
    public static string Generate() =>
        "aim_" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    public static byte[] Hash(string key) => SHA256.HashData(Encoding.UTF8.GetBytes(key));

    public static string IdOf(byte[] hash) => Convert.ToHexStringLower(hash.AsSpan(0, 8));

    public static bool Matches(byte[] storedHash, byte[] presentedHash) => CryptographicOperations.FixedTimeEquals(storedHash, presentedHash);
}
