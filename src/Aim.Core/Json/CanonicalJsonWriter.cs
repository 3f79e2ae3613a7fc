using System.Globalization;
using System.Text;

namespace Aim.Json;

/// <summary>
/// Appends RFC 8785 canonical JSON tokens to a growable UTF-8 buffer. The caller is responsible for
/// writing object members in canonical order (<see cref="CanonicalJson.CompareKeys"/>); the writer
/// handles commas, string escaping and number formatting.
/// </summary>
internal sealed class CanonicalJsonWriter
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
    private byte[] _buffer;
    private int _length;
    private ulong _needsComma; // one bit per nesting level: a member or item was already written
    private int _depth;

    public CanonicalJsonWriter(int capacity = 256)
    {
        _buffer = new byte[capacity];
    }

    public int Length => _length;

    public ReadOnlySpan<byte> WrittenSpan => _buffer.AsSpan(0, _length);

    public byte[] ToArray() => _buffer.AsSpan(0, _length).ToArray();

    public void Reset()
    {
        _length = 0;
        _depth = 0;
        _needsComma = 0;
    }

    public void StartObject()
    {
        BeforeValue();
        Append((byte)'{');
        Push();
    }

    public void EndObject()
    {
        Pop();
        Append((byte)'}');
    }

    public void StartArray()
    {
        BeforeValue();
        Append((byte)'[');
        Push();
    }

    public void EndArray()
    {
        Pop();
        Append((byte)']');
    }

    /// <summary>Writes a member name; the next call writes its value.</summary>
    public void Key(string name)
    {
        BeforeValue();
        AppendString(name);
        Append((byte)':');
        _pendingKey = true;
    }

    private bool _pendingKey;

    public void String(string value)
    {
        BeforeValue();
        AppendString(value);
    }

    /// <summary>Writes bytes as a base64url string without padding (the alphabet needs no escaping): the same
    /// text as <c>String(Base64Url.EncodeToString(bytes))</c>, without building the string.</summary>
    public void Base64UrlString(ReadOnlySpan<byte> bytes)
    {
        BeforeValue();
        int length = System.Buffers.Text.Base64Url.GetEncodedLength(bytes.Length);
        Ensure(length + 2);
        _buffer[_length++] = (byte)'"';
        _length += System.Buffers.Text.Base64Url.EncodeToUtf8(bytes, _buffer.AsSpan(_length));
        _buffer[_length++] = (byte)'"';
    }

    public void Number(double value)
    {
        BeforeValue();
        AppendAscii(EcmaScriptNumber.Format(value));
    }

    public void Integer(long value)
    {
        if (Math.Abs(value) > (1L << 53))
        {
            // Beyond 2^53 a JSON number no longer round-trips through an IEEE double.
            Number(value);
            return;
        }

        BeforeValue();
        Span<byte> tmp = stackalloc byte[24];
        value.TryFormat(tmp, out var written, default, CultureInfo.InvariantCulture);
        Append(tmp[..written]);
    }

    public void Boolean(bool value)
    {
        BeforeValue();
        AppendAscii(value ? "true" : "false");
    }

    public void Null()
    {
        BeforeValue();
        AppendAscii("null");
    }

    /// <summary>Writes a value that is already canonical JSON.</summary>
    public void Raw(ReadOnlySpan<byte> canonicalJson)
    {
        BeforeValue();
        Append(canonicalJson);
    }

    private void BeforeValue()
    {
        if (_pendingKey)
        {
            _pendingKey = false;
            return;
        }

        if (_depth > 0)
        {
            var bit = 1UL << ((_depth - 1) & 63);
            if ((_needsComma & bit) != 0)
            {
                Append((byte)',');
            }

            _needsComma |= bit;
        }
    }

    private void Push()
    {
        _depth++;
        if (_depth <= 64)
        {
            _needsComma &= ~(1UL << (_depth - 1));
        }
        else
        {
            throw new CanonicalJsonException("JSON nesting deeper than 64 levels is not supported.");
        }
    }

    private void Pop() => _depth--;

    private void AppendString(string value)
    {
        Append((byte)'"');
        var start = 0;
        for (var i = 0; i < value.Length; i++)
        {
            var c = value[i];
            if (c >= 0x20 && c != '"' && c != '\\')
            {
                continue;
            }

            AppendUtf8(value.AsSpan(start, i - start));
            switch (c)
            {
                case '"': AppendAscii("\\\""); break;
                case '\\': AppendAscii("\\\\"); break;
                case '\b': AppendAscii("\\b"); break;
                case '\f': AppendAscii("\\f"); break;
                case '\n': AppendAscii("\\n"); break;
                case '\r': AppendAscii("\\r"); break;
                case '\t': AppendAscii("\\t"); break;
                default:
                    AppendAscii("\\u00");
                    Append((byte)"0123456789abcdef"[c >> 4]);
                    Append((byte)"0123456789abcdef"[c & 0xF]);
                    break;
            }

            start = i + 1;
        }

        AppendUtf8(value.AsSpan(start));
        Append((byte)'"');
    }

    private void AppendUtf8(ReadOnlySpan<char> chars)
    {
        if (chars.IsEmpty)
        {
            return;
        }

        int max = StrictUtf8.GetMaxByteCount(chars.Length);
        Ensure(max);
        try
        {
            _length += StrictUtf8.GetBytes(chars, _buffer.AsSpan(_length));
        }
        catch (EncoderFallbackException ex)
        {
            throw new CanonicalJsonException("A string holds an unpaired UTF-16 surrogate, which JSON (RFC 8785) cannot represent.", ex);
        }
    }

    private void AppendAscii(string ascii)
    {
        Ensure(ascii.Length);
        for (var i = 0; i < ascii.Length; i++)
        {
            _buffer[_length++] = (byte)ascii[i];
        }
    }

    private void Append(byte b)
    {
        Ensure(1);
        _buffer[_length++] = b;
    }

    private void Append(ReadOnlySpan<byte> bytes)
    {
        Ensure(bytes.Length);
        bytes.CopyTo(_buffer.AsSpan(_length));
        _length += bytes.Length;
    }

    private void Ensure(int extra)
    {
        if (_length + extra > _buffer.Length)
        {
            Array.Resize(ref _buffer, Math.Max(_buffer.Length * 2, _length + extra));
        }
    }
}
