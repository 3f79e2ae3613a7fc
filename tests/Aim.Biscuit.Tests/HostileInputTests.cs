using Aim.Biscuit.Datalog;
using Aim.Biscuit.Format;
using Aim.Biscuit.Parser;
using Google.Protobuf;
using Proto = global::Biscuit.Format.Schema;

namespace Aim.Biscuit.Tests;

public sealed class HostileInputTests
{
    private const int MutationsPerSample = 250;

    /// <summary>
    /// Flips, truncates, extends and splices every sample token (seeded, bounded). Each mutant goes
    /// through parsing with the root key, and through the unverified decoder plus a full authorization
    /// (so corrupted Datalog reaches the engine). Only typed Biscuit errors may come out.
    /// </summary>
    [Fact]
    public void Mutated_sample_tokens_only_raise_typed_errors()
    {
        if (!Samples.RequireOrFailInCi()) return;
        var random = new Random(20261121);
        var outcomes = new Dictionary<string, int>();
        var total = 0;
        foreach (var testCase in Samples.TestCases)
        {
            var original = Samples.Token((string)testCase["filename"]!);
            for (var i = 0; i < MutationsPerSample; i++)
            {
                var mutant = Mutate(original, random);
                total++;
                Record(outcomes, Run(() => BiscuitToken.FromBytes(mutant, Samples.RootPublicKey).CreateAuthorizer().AddCode("allow if true;").Authorize()));
                Record(outcomes, Run(() =>
                {
                    // Bypass the signature check on purpose to drive corrupted blocks through the decoder and engine.
                    var token = BiscuitToken.FromContainer(SerializedBiscuit.Deserialize(mutant), verified: true);
                    _ = token.ToString();
                    var authorizer = new Authorizer().AddCode("allow if true;");
                    authorizer.RegisterExtern("test", ConformanceTests.TestExtern);
                    authorizer.AddToken(token);
                    try
                    {
                        return authorizer.Authorize();
                    }
                    finally
                    {
                        _ = authorizer.Snapshot().ToString();
                    }
                }));
            }
        }
        Assert.True(total >= 37 * MutationsPerSample);
        Assert.True(outcomes.Count > 3, string.Join(", ", outcomes.Select(o => $"{o.Key}={o.Value}")));
    }

    private static string Run(Func<int> action)
    {
        try
        {
            action();
            return "ok";
        }
        catch (BiscuitException e)
        {
            return e.Code;
        }
        catch (Exception e)
        {
            Assert.Fail($"untyped exception {e.GetType()}: {e}");
            return "";
        }
    }

    private static void Record(Dictionary<string, int> outcomes, string code) =>
        outcomes[code] = outcomes.GetValueOrDefault(code) + 1;

    private static byte[] Mutate(byte[] original, Random random)
    {
        var data = (byte[])original.Clone();
        switch (random.Next(6))
        {
            case 0: // flip one bit
                var i = random.Next(data.Length);
                data[i] ^= (byte)(1 << random.Next(8));
                return data;
            case 1: // several random bytes
                for (var n = random.Next(1, 8); n > 0; n--) data[random.Next(data.Length)] = (byte)random.Next(256);
                return data;
            case 2: // truncate
                return data[..random.Next(data.Length)];
            case 3: // extend with garbage
                var extra = new byte[random.Next(1, 64)];
                random.NextBytes(extra);
                return [.. data, .. extra];
            case 4: // duplicate a slice (protobuf repeats fields, varints grow)
                var start = random.Next(data.Length);
                var length = random.Next(1, Math.Min(64, data.Length - start) + 1);
                return [.. data[..start], .. data.AsSpan(start, length), .. data[start..]];
            default: // remove a slice
                var from = random.Next(data.Length);
                var count = random.Next(1, Math.Min(16, data.Length - from) + 1);
                return [.. data[..from], .. data[(from + count)..]];
        }
    }

    [Fact]
    public void Oversized_token_is_refused_before_parsing()
    {
        var bytes = new byte[BiscuitParseOptions.Default.MaxTokenSize + 1];
        using var root = KeyPair.Generate();
        var e = Assert.Throws<BiscuitFormatException>(() => BiscuitToken.FromBytes(bytes, root.PublicKey));
        Assert.Equal(FormatErrorKind.TooLarge, e.Kind);
    }

    [Fact]
    public void Token_with_too_many_blocks_is_refused()
    {
        using var root = KeyPair.Generate();
        var token = BiscuitToken.CreateBuilder().AddCode("a(1);").Build(root);
        for (var i = 0; i < 4; i++) token = token.Attenuate(new BlockBuilder().AddCode($"check if a({i});"));
        var e = Assert.Throws<BiscuitFormatException>(() =>
            BiscuitToken.FromBytes(token.ToBytes(), root.PublicKey, new BiscuitParseOptions { MaxBlocks = 3 }));
        Assert.Equal(FormatErrorKind.TooLarge, e.Kind);
    }

    [Theory]
    [InlineData("check if " + "(((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((true))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))")]
    [InlineData("check if " + "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!true")]
    [InlineData("a([[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]);")]
    public void Deeply_nested_source_is_refused_by_the_parser(string code)
    {
        var e = Assert.Throws<BiscuitLanguageException>(() => DatalogParser.Parse(code));
        Assert.Contains("nested too deeply", e.Message);
    }

    [Fact]
    public void Deeply_nested_terms_in_a_token_are_refused_by_the_decoder()
    {
        var term = new Proto.TermV2 { Integer = 1 };
        for (var i = 0; i < 40; i++)
        {
            var array = new Proto.Array();
            array.Array_.Add(term);
            term = new Proto.TermV2 { Array = array };
        }
        var block = new Proto.Block { Version = 6 };
        var predicate = new Proto.PredicateV2 { Name = 0 };
        predicate.Terms.Add(term);
        block.FactsV2.Add(new Proto.FactV2 { Predicate = predicate });
        var e = Assert.Throws<BiscuitFormatException>(() => ProtoConverter.DecodeBlock(block, new SymbolTable(), new PublicKeyTable(), null));
        Assert.Equal(FormatErrorKind.InvalidBlock, e.Kind);
    }

    [Fact]
    public void Block_declaring_an_older_version_than_its_features_is_refused()
    {
        var symbols = new SymbolTable();
        var proto = ProtoConverter.EncodeBlock([], [], [DatalogParser.ParseCheck("reject if a(1)")], [], null, symbols, new PublicKeyTable(), false);
        Assert.Equal(6u, proto.Version);
        proto.Version = 4;
        var e = Assert.Throws<BiscuitFormatException>(() => ProtoConverter.DecodeBlock(proto, symbols, new PublicKeyTable(), null));
        Assert.Equal(FormatErrorKind.DeserializationError, e.Kind);
        proto.Version = 7;
        Assert.Equal(FormatErrorKind.Version, Assert.Throws<BiscuitFormatException>(() => ProtoConverter.DecodeBlock(proto, symbols, new PublicKeyTable(), null)).Kind);
        proto.Version = 6;
        Assert.Single(ProtoConverter.DecodeBlock(proto, symbols, new PublicKeyTable(), null).Checks);
    }

    // biscuit-rust 6.0's rules (get_schema_version / check_compatibility and proto_block_to_token_block): the version it
    // writes for a block, and which lower declared versions it still reads. Arrays, maps and .get() are not counted as
    // version 6 features there, and a version 3 block is only checked for version 4 features.
    [Theory]
    [InlineData("check if [1, 2].contains(1)", 3u, new uint[] { 3, 4, 5, 6 })]
    [InlineData("check if {\"a\": 1}.get(\"a\") === 1", 3u, new uint[] { 3, 4, 5, 6 })]
    [InlineData("a([1, null])", 3u, new uint[] { 3, 4, 5, 6 })]
    [InlineData("a(null)", 6u, new uint[] { 3, 6 })]
    [InlineData("check if true == true", 6u, new uint[] { 3, 6 })]
    [InlineData("check if [1].any($x -> $x === 1)", 6u, new uint[] { 3, 6 })]
    [InlineData("check if 1 !== 2", 4u, new uint[] { 4, 5, 6 })]
    [InlineData("check all a($x), $x === 1", 4u, new uint[] { 4, 5, 6 })]
    [InlineData("check if a(1) trusting previous", 4u, new uint[] { 4, 5, 6 })]
    [InlineData("reject if a(1)", 6u, new uint[] { 6 })]
    [InlineData("check if { null }.length() == 1", 6u, new uint[] { 3, 6 })]
    public void Block_versions_follow_biscuit_rust(string code, uint written, uint[] readable)
    {
        var source = DatalogParser.Parse(code);
        var symbols = new SymbolTable();
        var proto = ProtoConverter.EncodeBlock(source.Facts, source.Rules, source.Checks, source.Scopes, null, symbols, new PublicKeyTable(), false);
        Assert.Equal(written, proto.Version);
        for (var version = 3u; version <= 6; version++)
        {
            proto.Version = version;
            if (readable.Contains(version))
            {
                ProtoConverter.DecodeBlock(proto, symbols, new PublicKeyTable(), null);
            }
            else
            {
                Assert.Equal(FormatErrorKind.DeserializationError,
                    Assert.Throws<BiscuitFormatException>(() => ProtoConverter.DecodeBlock(proto, symbols, new PublicKeyTable(), null)).Kind);
            }
        }
    }

    // biscuit-rust's grammar: a set literal holds one type (null is its own), no variables, sets or arrays; an array or a map
    // holds no variables; '{name}' with no space is a parameter, even {null}.
    [Theory]
    [InlineData("check if {1, \"a\"}.contains(1)")]
    [InlineData("check if {1, null}.contains(1)")]
    [InlineData("check if {[1]}.contains([1])")]
    [InlineData("check if a($x), [$x].length() == 1")]
    [InlineData("check if a($x), {\"k\": $x}.length() == 1")]
    [InlineData("check if {null}.contains(null)")]
    public void Set_array_and_map_literals_follow_biscuit_rusts_grammar(string code) =>
        Assert.Throws<BiscuitLanguageException>(() => DatalogParser.Parse(code));

    [Fact]
    public void Explicit_check_kind_in_a_version_3_block_and_third_party_blocks_under_5_are_refused_like_biscuit_rust()
    {
        var source = DatalogParser.Parse("check if a(1)");
        var symbols = new SymbolTable();
        var proto = ProtoConverter.EncodeBlock(source.Facts, source.Rules, source.Checks, source.Scopes, null, symbols, new PublicKeyTable(), false);
        Assert.Equal(3u, proto.Version);
        ProtoConverter.DecodeBlock(proto, symbols, new PublicKeyTable(), null);
        proto.ChecksV2[0].Kind = Proto.CheckV2.Types.Kind.One;
        Assert.Equal(FormatErrorKind.DeserializationError,
            Assert.Throws<BiscuitFormatException>(() => ProtoConverter.DecodeBlock(proto, symbols, new PublicKeyTable(), null)).Kind);
        proto.Version = 4;
        ProtoConverter.DecodeBlock(proto, symbols, new PublicKeyTable(), null);

        using var key = KeyPair.Generate();
        var thirdParty = ProtoConverter.EncodeBlock(source.Facts, source.Rules, source.Checks, source.Scopes, null, symbols, new PublicKeyTable(), true);
        Assert.Equal(5u, thirdParty.Version);
        ProtoConverter.DecodeBlock(thirdParty, symbols, new PublicKeyTable(), key.PublicKey);
        thirdParty.Version = 4;
        Assert.Equal(FormatErrorKind.DeserializationError,
            Assert.Throws<BiscuitFormatException>(() => ProtoConverter.DecodeBlock(thirdParty, symbols, new PublicKeyTable(), key.PublicKey)).Kind);
    }

    [Theory]
    [InlineData("")]
    [InlineData("not base64 !!")]
    [InlineData("biscuit:AAAA")]
    public void Garbage_text_is_a_format_error(string text)
    {
        using var root = KeyPair.Generate();
        Assert.Throws<BiscuitFormatException>(() => BiscuitToken.FromBase64(text, root.PublicKey));
    }

    [Fact]
    public void Catastrophic_regex_runs_in_linear_time_engine()
    {
        using var root = KeyPair.Generate();
        var token = BiscuitToken.CreateBuilder().AddCode("s(\"" + new string('a', 5000) + "!\");").Build(root);
        var authorizer = new Authorizer { Limits = RunLimits.Default with { MaxTime = TimeSpan.FromSeconds(5) } }
            .AddCode("check if s($s), $s.matches(\"^(a+)+$\"); allow if true;").AddToken(token);
        var e = Assert.Throws<BiscuitLogicException>(() => authorizer.Authorize());
        Assert.Equal(LogicErrorKind.Unauthorized, e.Kind);
    }
}

public sealed class HostileExtrasTests
{
    [Fact]
    public void Extern_function_failure_is_a_typed_execution_error()
    {
        // The spec's 1 ms budget can expire on a cold first run of a loaded CI machine; this test is about extern failures, not time.
        var authorizer = new Authorizer { Limits = ConformanceTests.ConformanceLimits }.AddCode("check if 1.extern::boom(); allow if true;");
        authorizer.RegisterExtern("boom", (_, _) => throw new InvalidOperationException("kaboom"));
        var e = Assert.Throws<BiscuitExecutionException>(() => authorizer.Authorize());
        Assert.Equal(ExecutionErrorKind.ExternEvalError, e.Kind);
    }

    [Theory]
    [InlineData("")]
    [InlineData("AAAA")]
    [InlineData("CgA=")]
    public void Garbage_third_party_messages_are_format_errors(string text)
    {
        Assert.Throws<BiscuitFormatException>(() => ThirdPartyBlockRequest.FromBase64(text));
        Assert.Throws<BiscuitFormatException>(() => ThirdPartyBlockContents.FromBase64(text));
    }

    [Fact]
    public void Third_party_payload_that_is_not_a_block_is_refused()
    {
        using var root = KeyPair.Generate();
        using var external = KeyPair.Generate();
        var token = BiscuitToken.CreateBuilder().AddCode("a(1);").Build(root);
        var request = token.CreateThirdPartyRequest();
        var payload = new byte[] { 0xff, 0xff, 0xff };
        var signature = external.Sign(SerializedBiscuit.ExternalPayload(payload, request.PreviousSignature.ToArray(), 1));
        var bytes = new Proto.ThirdPartyBlockContents
        {
            Payload = ByteString.CopyFrom(payload),
            ExternalSignature = new Proto.ExternalSignature { Signature = ByteString.CopyFrom(signature), PublicKey = ProtoConverter.EncodeKey(external.PublicKey) },
        }.ToByteArray();
        var e = Assert.Throws<BiscuitFormatException>(() => token.AppendThirdPartyBlock(ThirdPartyBlockContents.FromBytes(bytes)));
        Assert.Equal(FormatErrorKind.BlockDeserializationError, e.Kind);
    }
}
