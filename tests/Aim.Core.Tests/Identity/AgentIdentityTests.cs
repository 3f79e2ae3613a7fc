using Aim.Crypto;
using Aim.Identity;

namespace Aim.Core.Tests.Identity;

public class AgentIdentityTests
{
    // RFC 8032 section 7.1, TEST 1.
    private static readonly byte[] Rfc8032Test1Seed = Convert.FromHexString("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
    private static readonly byte[] Rfc8032Test1Public = Convert.FromHexString("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");

    private const string Test1AipId = "aip:key:ed25519:zFVen3X669xLzsi6N2V91DoiyzHzg1uAgqiT8jZ9nS96Z";
    private const string Test1DidKey = "did:key:z6MktwupdmLXVVqTzCw4i46r4uGyosGXRnR3XjN4Zq7oMMsw";

    [Fact]
    public void Rfc8032_test1_key_has_the_pinned_aip_id_and_did_key()
    {
        var identity = new AgentIdentity(Guid.Empty, "test", Rfc8032Test1Public);

        Assert.Equal(Test1AipId, identity.AipId);
        Assert.Equal(Test1DidKey, identity.DidKey);
        Assert.StartsWith("did:key:z6Mk", identity.DidKey);
    }

    [Fact]
    public void Pinned_strings_decode_back_to_the_key()
    {
        Assert.Equal(Rfc8032Test1Public, AgentIdentity.PublicKeyFromAipId(Test1AipId));
        Assert.Equal(Rfc8032Test1Public, AgentIdentity.PublicKeyFromDidKey(Test1DidKey));
    }

    [Fact]
    public void Random_keys_round_trip_through_both_forms()
    {
        for (int i = 0; i < 50; i++)
        {
            using var pair = Ed25519KeyPair.Generate();
            var identity = new AgentIdentity(Guid.NewGuid(), "a", pair.PublicKey);
            Assert.Equal(pair.PublicKey.ToArray(), AgentIdentity.PublicKeyFromAipId(identity.AipId));
            Assert.Equal(pair.PublicKey.ToArray(), AgentIdentity.PublicKeyFromDidKey(identity.DidKey));
        }
    }

    [Fact]
    public void Key_with_leading_zero_bytes_round_trips()
    {
        var key = new byte[32];
        key[31] = 7;
        var identity = new AgentIdentity(Guid.Empty, "z", key);
        Assert.Equal(key, AgentIdentity.PublicKeyFromAipId(identity.AipId));
        Assert.Equal(key, AgentIdentity.PublicKeyFromDidKey(identity.DidKey));
    }

    [Fact]
    public void Identity_derived_from_seed_matches_rfc_vector()
    {
        using var pair = Ed25519KeyPair.FromSeed(Rfc8032Test1Seed);
        Assert.Equal(Test1AipId, AgentIdentity.AipIdOf(pair.PublicKey));
        Assert.Equal(Test1DidKey, AgentIdentity.DidKeyOf(pair.PublicKey));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("aip:key:ed25519:")]
    [InlineData("aip:key:ed25519:FVen3X669xLzsi6N2V91DoiyzHzg1uAgqiT8jZ9nS96Z")] // no multibase z
    [InlineData("aip:key:p256:zFVen3X669xLzsi6N2V91DoiyzHzg1uAgqiT8jZ9nS96Z")] // wrong algorithm
    [InlineData("AIP:KEY:ED25519:zFVen3X669xLzsi6N2V91DoiyzHzg1uAgqiT8jZ9nS96Z")] // prefix is case-sensitive
    [InlineData("aip:key:ed25519:zFVen3X669xLzsi6N2V91DoiyzHzg1uAgqiT8jZ9nS960")] // '0' is not base58
    [InlineData("aip:key:ed25519:zFVen3X669xLzsi6N2V91DoiyzHzg1uAgqiT8jZ9nS96l")] // 'l' is not base58
    [InlineData("aip:key:ed25519:zFVen3X669xLzsi6N2V91DoiyzHzg1uAgqiT8jZ9nS96Z ")] // trailing space
    [InlineData("aip:key:ed25519:zFVen3X669xLzsi6N2V91DoiyzHzg1uAgqiT8")] // 26 bytes
    [InlineData("aip:key:ed25519:zFVen3X669xLzsi6N2V91DoiyzHzg1uAgqiT8jZ9nS96ZZ")] // 33 bytes
    [InlineData("aip:key:ed25519:z6MktwupdmLXVVqTzCw4i46r4uGyosGXRnR3XjN4Zq7oMMsw")] // a did:key body (34 bytes)
    [InlineData("did:key:z6MktwupdmLXVVqTzCw4i46r4uGyosGXRnR3XjN4Zq7oMMsw")] // the other form
    public void Malformed_aip_ids_are_refused_with_a_typed_error(string? text)
    {
        var ex = Assert.Throws<IdentityFormatException>(() => AgentIdentity.PublicKeyFromAipId(text!));
        Assert.Equal("aim_identity_malformed", ex.Code);
        Assert.False(AgentIdentity.TryPublicKeyFromAipId(text, out _));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("did:key:")]
    [InlineData("did:key:6MktwupdmLXVVqTzCw4i46r4uGyosGXRnR3XjN4Zq7oMMsw")] // no multibase z
    [InlineData("did:web:example.com")]
    [InlineData("did:key:z6MktwupdmLXVVqTzCw4i46r4uGyosGXRnR3XjN4Zq7oMMs0")] // '0' is not base58
    [InlineData("did:key:zFVen3X669xLzsi6N2V91DoiyzHzg1uAgqiT8jZ9nS96Z")] // bare key, no multicodec
    [InlineData("did:key:z6MktwupdmLXVVqTzCw4i46r4uGyosGXRnR3XjN4Zq7oMMs")] // truncated
    [InlineData("did:key:zDnaerDaTF5BXEavCrfRZEk316dpbLsfPDZ3WJ5hRTPFU2169")] // P-256 multicodec (0x1200)
    [InlineData("aip:key:ed25519:zFVen3X669xLzsi6N2V91DoiyzHzg1uAgqiT8jZ9nS96Z")]
    public void Malformed_did_keys_are_refused_with_a_typed_error(string? text)
    {
        var ex = Assert.Throws<IdentityFormatException>(() => AgentIdentity.PublicKeyFromDidKey(text!));
        Assert.Equal("aim_identity_malformed", ex.Code);
    }

    [Fact]
    public void Did_key_with_wrong_multicodec_is_refused()
    {
        // x25519-pub multicodec 0xec01 with a 32-byte key.
        var text = "did:key:z" + Base58.Encode([0xec, 0x01, .. Rfc8032Test1Public]);
        var ex = Assert.Throws<IdentityFormatException>(() => AgentIdentity.PublicKeyFromDidKey(text));
        Assert.Contains("multicodec", ex.Message);
    }

    [Fact]
    public void Very_long_identifier_is_refused_before_decoding()
    {
        var text = "aip:key:ed25519:z" + new string('2', 100_000);
        Assert.Throws<IdentityFormatException>(() => AgentIdentity.PublicKeyFromAipId(text));
        Assert.Throws<IdentityFormatException>(() => AgentIdentity.PublicKeyFromDidKey("did:key:z" + new string('2', 100_000)));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(31)]
    [InlineData(33)]
    [InlineData(64)]
    public void Identity_needs_a_32_byte_key(int length)
    {
        Assert.Throws<IdentityFormatException>(() => new AgentIdentity(Guid.NewGuid(), "a", new byte[length]));
    }

    [Fact]
    public void Equality_is_by_id_and_key_not_name()
    {
        var id = Guid.NewGuid();
        var a = new AgentIdentity(id, "one", Rfc8032Test1Public);
        var b = new AgentIdentity(id, "two", Rfc8032Test1Public);
        var otherId = new AgentIdentity(Guid.NewGuid(), "one", Rfc8032Test1Public);
        var otherKey = new AgentIdentity(id, "one", new byte[32]);

        Assert.Equal(a, b);
        Assert.True(a == b);
        Assert.Equal(a.GetHashCode(), b.GetHashCode());
        Assert.NotEqual(a, otherId);
        Assert.NotEqual(a, otherKey);
        Assert.True(a != otherKey);
    }

    [Fact]
    public void Identity_keeps_its_own_copy_of_the_key()
    {
        var key = (byte[])Rfc8032Test1Public.Clone();
        var identity = new AgentIdentity(Guid.Empty, "a", key);
        key[0] ^= 0xff;
        Assert.Equal(Test1AipId, identity.AipId);
    }

    [Fact]
    public void Agent_key_signs_and_its_identity_verifies()
    {
        using var key = AgentKey.Generate("signer");
        var signature = key.Sign("hello"u8);
        Assert.True(key.Identity.Verify("hello"u8, signature));
        Assert.False(key.Identity.Verify("hellO"u8, signature));
    }

    [Fact]
    public void Agent_key_refuses_a_key_pair_of_another_identity()
    {
        using var pair = Ed25519KeyPair.Generate();
        var identity = new AgentIdentity(Guid.NewGuid(), "a", Rfc8032Test1Public);
        Assert.Throws<ArgumentException>(() => new AgentKey(identity, pair));
    }

    [Fact]
    public void Agent_key_text_never_shows_the_seed()
    {
        using var pair = Ed25519KeyPair.FromSeed(Rfc8032Test1Seed);
        using var key = new AgentKey(new AgentIdentity(Guid.Empty, "a", pair.PublicKey), pair);
        var text = key.ToString();
        Assert.DoesNotContain("9d61b19d", text, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(Convert.ToBase64String(Rfc8032Test1Seed)[..10], text);
        Assert.Contains(Test1AipId, text);
    }

    [Fact]
    public void Disposed_agent_key_cannot_sign()
    {
        var key = AgentKey.Generate("a");
        key.Dispose();
        Assert.Throws<ObjectDisposedException>(() => key.Sign("x"u8));
    }
}
