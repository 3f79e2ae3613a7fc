using System.Text;

namespace Aim.Tokens.Chained;

/// <summary>
/// Reads the root identity a serialized chained token CLAIMS (its authority block's single <c>identity("…")</c> fact)
/// straight from the protobuf bytes, so the verifier can pick the root key without decoding the whole token a first
/// time just to learn whom to verify it against. It is a hint and nothing more: the verifier only keeps a result
/// whose signatures verify under that identity's key AND whose verified authority block names the same identity;
/// anything else (no hint, a failure, a mismatch) goes through the full unverified parse, so the outcome is always the
/// one the full parse gives. Reading is bounded by the input and never throws: odd input simply yields no hint.
/// </summary>
internal static class AuthorityIdentityHint
{
    // Biscuit v3: symbols a block defines are numbered from 1024 (below are the specification's default symbols).
    private const ulong SymbolOffset = 1024;

    private static ReadOnlySpan<byte> IdentityName => "identity"u8;

    /// <summary>The identity the authority block names, or null when the bytes do not show exactly one clearly.</summary>
    public static string? TryRead(ReadOnlySpan<byte> token)
    {
        try
        {
            if (!TryGetSingle(token, 2, out var signedAuthority) || !TryGetSingle(signedAuthority, 1, out var block))
            {
                return null;
            }

            string? identity = null;
            var reader = new Reader(block);
            while (reader.Next(out var field, out var wireType, out var value, out var payload))
            {
                if (field != 4)
                {
                    continue;
                }

                if (wireType != WireType.LengthDelimited || !TryReadFact(block, payload, out var name, out var term))
                {
                    return null;
                }

                if (!SymbolEquals(block, name, IdentityName))
                {
                    continue;
                }

                if (identity is not null || term is not { } symbol || !TrySymbol(block, symbol, out var text))
                {
                    return null; // two identity facts, or one that is not a single string: let the full parse say so
                }

                identity = Encoding.UTF8.GetString(text);
            }

            return reader.Failed ? null : identity;
        }
        catch (Exception ex) when (ex is ArgumentException or DecoderFallbackException)
        {
            return null;
        }
    }

    // FactV2 { PredicateV2 predicate = 1 }, PredicateV2 { uint64 name = 1; repeated TermV2 terms = 2 }: the name and, when
    // the predicate has exactly one term and it is a string, that string's symbol.
    private static bool TryReadFact(ReadOnlySpan<byte> block, ReadOnlySpan<byte> fact, out ulong name, out ulong? stringTerm)
    {
        name = 0;
        stringTerm = null;
        if (!TryGetSingle(fact, 1, out var predicate))
        {
            return false;
        }

        var hasName = false;
        var terms = 0;
        var reader = new Reader(predicate);
        while (reader.Next(out var field, out var wireType, out var value, out var payload))
        {
            if (field == 1 && wireType == WireType.Varint && !hasName)
            {
                name = value;
                hasName = true;
            }
            else if (field == 2 && wireType == WireType.LengthDelimited)
            {
                terms++;
                stringTerm = TryGetStringTerm(payload);
            }
            else
            {
                return false;
            }
        }

        if (terms != 1)
        {
            stringTerm = null;
        }

        return hasName && !reader.Failed;
    }

    // TermV2 { oneof { ...; uint64 string = 3; ... } }
    private static ulong? TryGetStringTerm(ReadOnlySpan<byte> term)
    {
        var reader = new Reader(term);
        ulong? result = null;
        var fields = 0;
        while (reader.Next(out var field, out var wireType, out var value, out _))
        {
            fields++;
            result = field == 3 && wireType == WireType.Varint ? value : null;
        }

        return fields == 1 && !reader.Failed ? result : null;
    }

    private static bool SymbolEquals(ReadOnlySpan<byte> block, ulong symbol, ReadOnlySpan<byte> expected) =>
        TrySymbol(block, symbol, out var text) && text.SequenceEqual(expected);

    // Block { repeated string symbols = 1; ... }: the block's own symbol number `symbol`.
    private static bool TrySymbol(ReadOnlySpan<byte> block, ulong symbol, out ReadOnlySpan<byte> text)
    {
        text = default;
        if (symbol < SymbolOffset)
        {
            return false;
        }

        var wanted = symbol - SymbolOffset;
        ulong index = 0;
        var reader = new Reader(block);
        while (reader.Next(out var field, out var wireType, out _, out var payload))
        {
            if (field == 1 && wireType == WireType.LengthDelimited)
            {
                if (index++ == wanted)
                {
                    text = payload;
                    return true;
                }
            }
        }

        return false;
    }

    // The payload of the one length-delimited occurrence of `field` (protobuf would merge repeats; we give up instead).
    private static bool TryGetSingle(ReadOnlySpan<byte> message, int field, out ReadOnlySpan<byte> payload)
    {
        payload = default;
        var found = false;
        var reader = new Reader(message);
        while (reader.Next(out var f, out var wireType, out _, out var p))
        {
            if (f != field)
            {
                continue;
            }

            if (found || wireType != WireType.LengthDelimited)
            {
                return false;
            }

            payload = p;
            found = true;
        }

        return found && !reader.Failed;
    }

    private enum WireType
    {
        Varint = 0,
        Fixed64 = 1,
        LengthDelimited = 2,
        Fixed32 = 5,
    }

    /// <summary>A forward-only protobuf field reader over a span; <see cref="Failed"/> tells truncated or invalid input from the end.</summary>
    private ref struct Reader(ReadOnlySpan<byte> data)
    {
        private readonly ReadOnlySpan<byte> _data = data;
        private int _position;

        public bool Failed { get; private set; }

        public bool Next(out int field, out WireType wireType, out ulong value, out ReadOnlySpan<byte> payload)
        {
            field = 0;
            wireType = WireType.Varint;
            value = 0;
            payload = default;
            if (_position >= _data.Length || Failed)
            {
                return false;
            }

            if (!TryVarint(out var tag) || tag >> 3 is 0 or > int.MaxValue)
            {
                return Fail();
            }

            field = (int)(tag >> 3);
            wireType = (WireType)(tag & 7);
            switch (wireType)
            {
                case WireType.Varint:
                    return TryVarint(out value) || Fail();
                case WireType.Fixed64:
                    return Skip(8);
                case WireType.Fixed32:
                    return Skip(4);
                case WireType.LengthDelimited:
                    if (!TryVarint(out var length) || length > (ulong)(_data.Length - _position))
                    {
                        return Fail();
                    }

                    payload = _data.Slice(_position, (int)length);
                    _position += (int)length;
                    return true;
                default:
                    return Fail(); // groups are not used by the Biscuit schema
            }
        }

        private bool Skip(int count)
        {
            if (_data.Length - _position < count)
            {
                return Fail();
            }

            _position += count;
            return true;
        }

        private bool TryVarint(out ulong value)
        {
            value = 0;
            for (var shift = 0; shift < 64 && _position < _data.Length; shift += 7)
            {
                var b = _data[_position++];
                value |= (ulong)(b & 0x7F) << shift;
                if (b < 0x80)
                {
                    return true;
                }
            }

            return false;
        }

        private bool Fail()
        {
            Failed = true;
            return false;
        }
    }
}
