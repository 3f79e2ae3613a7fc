using Aim.Biscuit.Datalog;

namespace Aim.Biscuit.Tests;

public sealed class TokenTests
{
    private static Authorizer AuthorizerFor(BiscuitToken token, string code) =>
        new Authorizer { Limits = ConformanceTests.ConformanceLimits }.AddCode(code).AddToken(token);

    [Theory]
    [InlineData(Algorithm.Ed25519, Algorithm.Ed25519)]
    [InlineData(Algorithm.Secp256r1, Algorithm.Ed25519)]
    [InlineData(Algorithm.Ed25519, Algorithm.Secp256r1)]
    [InlineData(Algorithm.Secp256r1, Algorithm.Secp256r1)]
    public void Built_token_round_trips_through_bytes_and_text(Algorithm rootAlgorithm, Algorithm nextAlgorithm)
    {
        using var root = KeyPair.Generate(rootAlgorithm);
        var token = BiscuitToken.CreateBuilder()
            .AddCode("""right("file1", "read"); right("file2", "write"); user({id}); check if time($t), $t < 2030-01-01T00:00:00Z;""",
                new Dictionary<string, Term> { ["id"] = Term.Integer(42) })
            .Build(root, nextAlgorithm);

        var attenuated = token.Attenuate(new BlockBuilder().AddCode("""check if operation("read");"""), nextAlgorithm);
        var fromBytes = BiscuitToken.FromBytes(attenuated.ToBytes(), root.PublicKey);
        var fromText = BiscuitToken.FromBase64("biscuit:" + attenuated.ToBase64(), root.PublicKey);

        Assert.Equal(attenuated.ToString(), fromBytes.ToString());
        Assert.Equal(attenuated.ToString(), fromText.ToString());
        Assert.Equal(2, fromBytes.Blocks.Count);
        Assert.Equal("""right("file1", "read");""" + "\n" + """right("file2", "write");""" + "\nuser(42);\ncheck if time($t), $t < 2030-01-01T00:00:00Z;\n",
            fromBytes.Blocks[0].ToString());

        var allowed = AuthorizerFor(fromBytes, """time(2025-01-01T00:00:00Z); operation("read"); allow if right("file1", "read");""");
        Assert.Equal(0, allowed.Authorize());

        var denied = AuthorizerFor(fromBytes, """time(2025-01-01T00:00:00Z); operation("write"); allow if true;""");
        var e = Assert.Throws<BiscuitLogicException>(() => denied.Authorize());
        Assert.Equal(LogicErrorKind.Unauthorized, e.Kind);
        var failed = Assert.IsType<FailedBlockCheck>(Assert.Single(e.FailedChecks));
        Assert.Equal((1, 0), (failed.BlockId, failed.CheckId));
    }

    [Fact]
    public void Token_signed_by_another_root_is_refused()
    {
        using var root = KeyPair.Generate();
        using var other = KeyPair.Generate();
        var token = BiscuitToken.CreateBuilder().AddCode("a(1);").Build(root);
        var e = Assert.Throws<BiscuitFormatException>(() => BiscuitToken.FromBytes(token.ToBytes(), other.PublicKey));
        Assert.Equal(FormatErrorKind.InvalidSignature, e.Kind);
        Assert.Equal("format.invalid_signature", e.Code);
    }

    [Fact]
    public void Root_key_id_selects_the_key_and_unknown_ids_are_refused()
    {
        using var root1 = KeyPair.Generate();
        using var root2 = KeyPair.Generate(Algorithm.Secp256r1);
        var builder = BiscuitToken.CreateBuilder().AddCode("a(1);");
        builder.RootKeyId = 2;
        var token = builder.Build(root2);

        PublicKey? Resolve(uint? id) => id switch { 1 => root1.PublicKey, 2 => root2.PublicKey, _ => null };
        var parsed = BiscuitToken.FromBytes(token.ToBytes(), Resolve);
        Assert.Equal(2u, parsed.RootKeyId);

        var unknown = BiscuitToken.CreateBuilder().AddCode("a(1);").Build(root1);
        var e = Assert.Throws<BiscuitFormatException>(() => BiscuitToken.FromBytes(unknown.ToBytes(), Resolve));
        Assert.Equal(FormatErrorKind.UnknownPublicKey, e.Kind);
    }

    [Fact]
    public void Sealed_token_verifies_but_cannot_be_attenuated()
    {
        using var root = KeyPair.Generate();
        var sealedToken = BiscuitToken.CreateBuilder().AddCode("a(1);").Build(root).Attenuate(new BlockBuilder().AddCode("check if a(1);")).Seal();
        var parsed = BiscuitToken.FromBytes(sealedToken.ToBytes(), root.PublicKey);
        Assert.True(parsed.IsSealed);
        Assert.Equal(0, AuthorizerFor(parsed, "allow if true;").Authorize());
        Assert.Equal(FormatErrorKind.AlreadySealed, Assert.Throws<BiscuitFormatException>(() => parsed.Attenuate(new BlockBuilder())).Kind);
        Assert.Equal(FormatErrorKind.AlreadySealed, Assert.Throws<BiscuitFormatException>(() => parsed.Seal()).Kind);
    }

    [Fact]
    public void Revocation_ids_are_the_block_signatures_and_survive_attenuation()
    {
        using var root = KeyPair.Generate();
        var token = BiscuitToken.CreateBuilder().AddCode("a(1);").Build(root);
        var attenuated = token.Attenuate(new BlockBuilder().AddCode("check if a(1);"));
        Assert.Single(token.RevocationIds);
        Assert.Equal(2, attenuated.RevocationIds.Count);
        Assert.Equal(token.RevocationIds[0], attenuated.RevocationIds[0]);
        Assert.All(attenuated.RevocationIds, id => Assert.Equal(64, id.Length));
    }

    [Theory]
    [InlineData(Algorithm.Ed25519)]
    [InlineData(Algorithm.Secp256r1)]
    public void Third_party_block_is_trusted_only_through_its_key(Algorithm externalAlgorithm)
    {
        using var root = KeyPair.Generate();
        using var thirdParty = KeyPair.Generate(externalAlgorithm);
        var token = BiscuitToken.CreateBuilder()
            .AddCode("right(\"read\"); check if group(\"admin\") trusting {issuer};", scopeParameters: new Dictionary<string, PublicKey> { ["issuer"] = thirdParty.PublicKey })
            .Build(root);

        // The request and the answer travel as text between the holder and the third party.
        var request = ThirdPartyBlockRequest.FromBase64(token.CreateThirdPartyRequest().ToBase64());
        var contents = request.CreateBlock(thirdParty, new BlockBuilder().AddCode("group(\"admin\");"));
        var extended = token.AppendThirdPartyBlock(ThirdPartyBlockContents.FromBase64(contents.ToBase64()));

        var parsed = BiscuitToken.FromBytes(extended.ToBytes(), root.PublicKey);
        Assert.Equal(thirdParty.PublicKey, parsed.Blocks[1].ExternalKey);
        Assert.Equal(5u, parsed.Blocks[1].Version);
        Assert.Equal(0, AuthorizerFor(parsed, "allow if true;").Authorize());

        // Without the third-party block the check fails.
        var e = Assert.Throws<BiscuitLogicException>(() => AuthorizerFor(BiscuitToken.FromBytes(token.ToBytes(), root.PublicKey), "allow if true;").Authorize());
        Assert.Equal(LogicErrorKind.Unauthorized, e.Kind);

        // The authorizer does not see third-party facts unless it trusts the key.
        Assert.Empty(AuthorizerFor(parsed, "allow if true;").Query("g($x) <- group($x)"));
        Assert.Single(AuthorizerFor(parsed, "allow if true;").Query("g($x) <- group($x) trusting " + thirdParty.PublicKey));
    }

    [Fact]
    public void Third_party_block_signed_for_another_token_is_refused()
    {
        using var root = KeyPair.Generate();
        using var thirdParty = KeyPair.Generate();
        var token1 = BiscuitToken.CreateBuilder().AddCode("a(1);").Build(root);
        var token2 = BiscuitToken.CreateBuilder().AddCode("a(2);").Build(root);
        var contents = token1.CreateThirdPartyRequest().CreateBlock(thirdParty, new BlockBuilder().AddCode("b(1);"));
        var e = Assert.Throws<BiscuitFormatException>(() => token2.AppendThirdPartyBlock(contents));
        Assert.Equal(FormatErrorKind.InvalidSignature, e.Kind);
    }

    [Fact]
    public void Attenuation_blocks_cannot_add_rights_for_the_authorizer()
    {
        using var root = KeyPair.Generate();
        var token = BiscuitToken.CreateBuilder().AddCode("right(\"file1\");").Build(root)
            .Attenuate(new BlockBuilder().AddCode("right(\"file2\");"));
        var authorizer = AuthorizerFor(BiscuitToken.FromBytes(token.ToBytes(), root.PublicKey), "allow if right(\"file2\");");
        var e = Assert.Throws<BiscuitLogicException>(() => authorizer.Authorize());
        Assert.Equal(LogicErrorKind.NoMatchingPolicy, e.Kind);
        Assert.Equal(2, authorizer.QueryAll(Parser.DatalogParser.ParseRule("r($x) <- right($x)")).Count);
    }

    [Fact]
    public void Unverified_token_can_be_attenuated_but_not_authorized()
    {
        using var root = KeyPair.Generate();
        var token = BiscuitToken.CreateBuilder().AddCode("a(1);").Build(root);
        var unverified = BiscuitToken.FromBase64Unverified(token.ToBase64());
        Assert.False(unverified.IsVerified);
        var attenuated = unverified.Attenuate(new BlockBuilder().AddCode("check if a(1);"));
        Assert.Throws<InvalidOperationException>(() => new Authorizer().AddToken(attenuated));
        Assert.Equal(0, AuthorizerFor(BiscuitToken.FromBytes(attenuated.ToBytes(), root.PublicKey), "allow if true;").Authorize());
    }

    [Fact]
    public void Authorizer_accepts_only_one_token()
    {
        using var root = KeyPair.Generate();
        var token = BiscuitToken.CreateBuilder().AddCode("a(1);").Build(root);
        var authorizer = new Authorizer().AddToken(token);
        Assert.Equal(LogicErrorKind.AuthorizerNotEmpty, Assert.Throws<BiscuitLogicException>(() => authorizer.AddToken(token)).Kind);
    }

    [Fact]
    public void Deny_policy_wins_when_it_comes_first()
    {
        using var root = KeyPair.Generate();
        var token = BiscuitToken.CreateBuilder().AddCode("role(\"guest\");").Build(root);
        var e = Assert.Throws<BiscuitLogicException>(() => AuthorizerFor(token, "deny if role(\"guest\"); allow if true;").Authorize());
        Assert.Equal(new MatchedPolicy(PolicyKind.Deny, 0), e.Policy);
        Assert.Equal("logic.unauthorized", e.Code);
    }

    [Fact]
    public void Block_with_unbound_head_variable_cannot_be_built()
    {
        Assert.Throws<BiscuitLanguageException>(() => new BlockBuilder().AddCode("a($x) <- b($y);"));
    }

    [Fact]
    public void Key_text_forms_round_trip()
    {
        foreach (var algorithm in new[] { Algorithm.Ed25519, Algorithm.Secp256r1 })
        {
            using var key = KeyPair.Generate(algorithm);
            using var again = KeyPair.Parse(key.ExportPrivateKeyString());
            Assert.Equal(key.PublicKey, again.PublicKey);
            Assert.Equal(key.PublicKey, PublicKey.Parse(key.PublicKey.ToString()));
        }
        Assert.Equal(FormatErrorKind.InvalidKey, Assert.Throws<BiscuitFormatException>(() => PublicKey.Parse("rsa/00")).Kind);
        Assert.Throws<BiscuitFormatException>(() => PublicKey.Parse("secp256r1/02" + new string('f', 64)));
    }
}
