using CsCheck;

namespace Aim.Tests.Properties;

/// <summary>
/// How long the property-based suites run. CI: a fixed seed, one thread, a bounded count per property (so a run is
/// reproducible and its time bounded). A longer run is one command:
/// <c>AIM_PROPERTY_ITER=200000 AIM_PROPERTY_SEED=random dotnet test tests/Aim.Core.Tests -c Release --filter Category=Property</c>
/// (and the same for tests/Aim.Server.Tests); a failure prints the CsCheck seed that replays it (<c>AIM_PROPERTY_SEED=&lt;seed&gt;</c>).
/// </summary>
internal static class PropertyRun
{
    /// <summary>The seed CI uses.</summary>
    public const string CiSeed = "0N0XIzNsQ0O2";

    /// <summary>The iteration count: <paramref name="ci"/>, or AIM_PROPERTY_ITER when set.</summary>
    public static long Iterations(long ci) =>
        long.TryParse(Environment.GetEnvironmentVariable("AIM_PROPERTY_ITER"), out var n) && n > 0 ? n : ci;

    /// <summary>The seed: <see cref="CiSeed"/>, AIM_PROPERTY_SEED, or none (a fresh random one) for AIM_PROPERTY_SEED=random.</summary>
    public static string? Seed => Environment.GetEnvironmentVariable("AIM_PROPERTY_SEED") switch
    {
        null or "" => CiSeed,
        "random" => null,
        var s => s,
    };

    /// <summary>One thread in CI (the order is then the seed's alone); all cores for a long run.</summary>
    public static int Threads => Environment.GetEnvironmentVariable("AIM_PROPERTY_ITER") is { Length: > 0 } ? Environment.ProcessorCount : 1;
}

/// <summary>Mutations of valid inputs: what a hostile or broken peer sends instead of the real thing.</summary>
internal static class Mutations
{
    /// <summary>One random edit of <paramref name="original"/>: a bit flipped, a byte set, bytes inserted, a range deleted,
    /// a range duplicated (a repeated member), the end cut off.</summary>
    public static Gen<byte[]> Of(byte[] original)
    {
        int n = original.Length;
        return Gen.OneOf(
            Gen.Select(Gen.Int[0, n - 1], Gen.Int[0, 7], (i, bit) => Edit(original, b => b[i] ^= (byte)(1 << bit))),
            Gen.Select(Gen.Int[0, n - 1], Gen.Byte, (i, v) => Edit(original, b => b[i] = v)),
            Gen.Select(Gen.Int[0, n], Interesting, (i, bytes) => (byte[])[.. original.AsSpan(0, i), .. bytes, .. original.AsSpan(i)]),
            Gen.Select(Gen.Int[0, n - 1], Gen.Int[1, 16], (i, len) => (byte[])[.. original.AsSpan(0, i), .. original.AsSpan(Math.Min(n, i + len))]),
            Gen.Select(Gen.Int[0, n - 1], Gen.Int[1, 40], (i, len) => (byte[])[.. original.AsSpan(0, Math.Min(n, i + len)), .. original.AsSpan(i)]),
            Gen.Int[0, n - 1].Select(i => original[..i]));
    }

    /// <summary>Bytes that parsers get wrong: JSON structure, escapes of unpaired surrogates, invalid UTF-8, NUL, CR/LF.</summary>
    public static readonly Gen<byte[]> Interesting = Gen.OneOf(
        Gen.OneOf<byte[]>(
            "\""u8.ToArray(), "\\"u8.ToArray(), "{"u8.ToArray(), "}"u8.ToArray(), "["u8.ToArray(), ","u8.ToArray(), ":"u8.ToArray(), " "u8.ToArray(),
            "\\ud800"u8.ToArray(), "\\udc00"u8.ToArray(), "\\u0000"u8.ToArray(), "null"u8.ToArray(), "1e400"u8.ToArray(), "-0"u8.ToArray(),
            "\r\n"u8.ToArray(), new byte[] { 0xC3, 0x28 }, new byte[] { 0xED, 0xA0, 0x80 }, new byte[] { 0xFF }, new byte[] { 0 }, "=="u8.ToArray(), "sig1"u8.ToArray(), ";"u8.ToArray()),
        Gen.Byte.Array[1, 8]);

    /// <summary>One random edit of a string (as UTF-16: chars flipped, inserted, deleted, duplicated, cut).</summary>
    public static Gen<string> Of(string original)
    {
        int n = original.Length;
        var chars = Gen.OneOf<char>(Gen.Char, Gen.Char.AlphaNumeric, Gen.OneOf<char>('"', '\\', ';', '=', ':', '(', ')', ' ', '\r', '\n', '\0', '\ud800', ',', '-', '_', '+', '/'));
        return Gen.OneOf(
            Gen.Select(Gen.Int[0, n - 1], chars, (i, c) => original[..i] + c + original[(i + 1)..]),
            Gen.Select(Gen.Int[0, n], chars, (i, c) => original[..i] + c + original[i..]),
            Gen.Select(Gen.Int[0, n - 1], Gen.Int[1, 12], (i, len) => original[..i] + original[Math.Min(n, i + len)..]),
            Gen.Select(Gen.Int[0, n - 1], Gen.Int[1, 30], (i, len) => original[..Math.Min(n, i + len)] + original[i..]),
            Gen.Int[0, n - 1].Select(i => original[..i]));
    }

    private static byte[] Edit(byte[] original, Action<byte[]> edit)
    {
        var copy = (byte[])original.Clone();
        edit(copy);
        return copy;
    }
}
