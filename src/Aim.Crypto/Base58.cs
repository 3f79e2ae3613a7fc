namespace Aim.Crypto;

/// <summary>Base58 with the Bitcoin alphabet (base58btc, multibase prefix <c>z</c>).</summary>
public static class Base58
{
    private const string Alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
    private static readonly sbyte[] Index = BuildIndex();

    /// <summary>Encodes bytes as base58btc.</summary>
    public static string Encode(ReadOnlySpan<byte> data)
    {
        int zeros = 0;
        while (zeros < data.Length && data[zeros] == 0)
        {
            zeros++;
        }

        // log(256)/log(58) ~ 1.366: upper bound of the digits needed.
        var digits = new byte[(data.Length - zeros) * 138 / 100 + 1];
        int length = 0;
        for (int i = zeros; i < data.Length; i++)
        {
            int carry = data[i];
            int j = 0;
            for (int k = digits.Length - 1; (carry != 0 || j < length) && k >= 0; k--, j++)
            {
                carry += 256 * digits[k];
                digits[k] = (byte)(carry % 58);
                carry /= 58;
            }

            length = j;
        }

        int start = digits.Length - length;
        while (start < digits.Length && digits[start] == 0)
        {
            start++;
        }

        var chars = new char[zeros + digits.Length - start];
        chars.AsSpan(0, zeros).Fill('1');
        for (int i = start, o = zeros; i < digits.Length; i++, o++)
        {
            chars[o] = Alphabet[digits[i]];
        }

        return new string(chars);
    }

    /// <summary>Decodes base58btc; returns false for any character outside the alphabet.</summary>
    public static bool TryDecode(string text, out byte[] data)
    {
        data = [];
        if (text is null)
        {
            return false;
        }

        int zeros = 0;
        while (zeros < text.Length && text[zeros] == '1')
        {
            zeros++;
        }

        var bytes = new byte[(text.Length - zeros) * 733 / 1000 + 1];
        int length = 0;
        for (int i = zeros; i < text.Length; i++)
        {
            char c = text[i];
            int carry = c < 128 ? Index[c] : -1;
            if (carry < 0)
            {
                return false;
            }

            int j = 0;
            for (int k = bytes.Length - 1; (carry != 0 || j < length) && k >= 0; k--, j++)
            {
                carry += 58 * bytes[k];
                bytes[k] = (byte)(carry & 0xff);
                carry >>= 8;
            }

            length = j;
        }

        int start = bytes.Length - length;
        while (start < bytes.Length && bytes[start] == 0)
        {
            start++;
        }

        data = new byte[zeros + bytes.Length - start];
        bytes.AsSpan(start).CopyTo(data.AsSpan(zeros));
        return true;
    }

    /// <summary>Decodes base58btc.</summary>
    /// <exception cref="FormatException">A character outside the alphabet.</exception>
    public static byte[] Decode(string text) =>
        TryDecode(text, out var data) ? data : throw new FormatException("Not a base58btc string.");

    private static sbyte[] BuildIndex()
    {
        var index = new sbyte[128];
        Array.Fill(index, (sbyte)-1);
        for (int i = 0; i < Alphabet.Length; i++)
        {
            index[Alphabet[i]] = (sbyte)i;
        }

        return index;
    }
}
