namespace Aim.Crypto.Tests;

public class Base58Tests
{
    [Theory]
    [InlineData("", "")]
    [InlineData("61", "2g")]
    [InlineData("626262", "a3gV")]
    [InlineData("636363", "aPEr")]
    [InlineData("00000000000000000000", "1111111111")]
    [InlineData("000111d38e5fc9071ffcd20b4a763cc9ae4f252bb4e48fd66a835e252ada93ff480d6dd43dc62a641155a5", "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz")]
    [InlineData("00eb15231dfceb60925886b67d065299925915aeb172c06647", "1NS17iag9jJgTHD1VXjvLCEnZuQ3rJDE9L")]
    public void Encodes_and_decodes_known_vectors(string hex, string text)
    {
        var bytes = Convert.FromHexString(hex);
        Assert.Equal(text, Base58.Encode(bytes));
        Assert.Equal(bytes, Base58.Decode(text));
    }

    [Theory]
    [InlineData("0OIl")]
    [InlineData("abc!")]
    [InlineData("é")]
    public void Characters_outside_the_alphabet_are_refused(string text)
    {
        Assert.False(Base58.TryDecode(text, out _));
        Assert.Throws<FormatException>(() => Base58.Decode(text));
    }

    [Fact]
    public void Random_bytes_round_trip()
    {
        var random = new Random(42);
        for (int i = 0; i < 500; i++)
        {
            var bytes = new byte[random.Next(0, 70)];
            random.NextBytes(bytes);
            if (bytes.Length > 0 && random.Next(4) == 0)
            {
                bytes[0] = 0;
            }

            Assert.Equal(bytes, Base58.Decode(Base58.Encode(bytes)));
        }
    }
}
