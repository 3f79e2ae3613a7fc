namespace Aim.Sdk.Tests;

/// <summary>
/// The arguments digest has two ways to be computed: straight canonical JSON for simple values (the hot path of every
/// secured call) and the general one through a JsonObject (any other type, or when the action logs its arguments). An
/// audit digest that changed with the path would break every comparison with older entries: both must give the same text.
/// </summary>
public sealed class ArgumentDigestTests
{
    public static TheoryData<string[], object?[]> Cases() => new()
    {
        { ["tenant"], ["acme"] },
        { ["b", "a", "B", "aa", "_"], ["x", true, false, null, 3] },
        { ["\u00e9t\u00e9", "zeta", "\ud83d\ude00k", "alpha"], ["caf\u00e9", "quote\" back\\slash \n\t\u0001", "\ud83d\ude00", ""] },
        { ["i", "l", "s", "b", "sb", "us", "ui"], [int.MinValue, long.MaxValue, (short)-7, (byte)255, (sbyte)-128, (ushort)65535, uint.MaxValue] },
        { ["big", "neg", "frac", "tiny", "f"], [(1L << 53) + 1, -9007199254740993L, 0.1 + 0.2, 5e-324, 1.5f] },
        { ["d", "e"], [1e21, -0.0] },
        { [], [] },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Simple_arguments_digest_the_same_on_the_fast_and_the_general_path(string[] names, object?[] args)
    {
        var fast = ArgumentRecorder.Describe(new ActionDescriptor("db:read", parameterNames: names), args);
        var general = ArgumentRecorder.Describe(new ActionDescriptor("db:read", parameterNames: names, logArguments: true), args);
        Assert.Equal(general.Digest, fast.Digest);
        Assert.Null(fast.Values);
        if (args.Length > 0)
        {
            Assert.StartsWith("sha256:", fast.Digest);
            Assert.Equal(71, fast.Digest!.Length);
        }
    }

    [Fact]
    public void Repeated_names_and_other_types_take_the_general_path_and_agree_with_it()
    {
        object?[] mixed = ["x", 1.5m, Guid.Empty, new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.Zero), double.NaN, new[] { 1, 2 }];
        string[] names = ["a", "b", "c", "d", "e", "f"];
        Assert.Equal(
            ArgumentRecorder.Describe(new ActionDescriptor("db:read", parameterNames: names, logArguments: true), mixed).Digest,
            ArgumentRecorder.Describe(new ActionDescriptor("db:read", parameterNames: names), mixed).Digest);

        // Two arguments under one name: the JSON object keeps the last value, and so does the digest.
        var repeated = ArgumentRecorder.Describe(new ActionDescriptor("db:read", parameterNames: ["a", "a"]), ["first", "second"]);
        var single = ArgumentRecorder.Describe(new ActionDescriptor("db:read", parameterNames: ["a"]), ["second"]);
        Assert.Equal(single.Digest, repeated.Digest);
    }

    [Fact]
    public void An_unpaired_surrogate_fails_the_same_way_on_both_paths()
    {
        object?[] args = ["bad \ud800 text"];
        Assert.Throws<Aim.Json.CanonicalJsonException>(() => ArgumentRecorder.Describe(new ActionDescriptor("db:read", parameterNames: ["t"]), args));
        Assert.Throws<Aim.Json.CanonicalJsonException>(() => ArgumentRecorder.Describe(new ActionDescriptor("db:read", parameterNames: ["t"], logArguments: true), args));
    }

    [Fact]
    public void More_arguments_than_names_are_named_by_position_on_both_paths()
    {
        object?[] args = ["x", "y", 3];
        Assert.Equal(
            ArgumentRecorder.Describe(new ActionDescriptor("db:read", parameterNames: ["p"], logArguments: true), args).Digest,
            ArgumentRecorder.Describe(new ActionDescriptor("db:read", parameterNames: ["p"]), args).Digest);
    }
}
