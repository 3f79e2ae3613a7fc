using Aim.Capabilities;

namespace Aim.Core.Tests.Capabilities;

public class ResourcePatternTests
{
    [Theory]
    [InlineData("users_*", "users_table", true)]
    [InlineData("users_*", "users_", true)]
    [InlineData("users_*", "user_table", false)]
    [InlineData("users_*", "xusers_table", false)]
    [InlineData("*", "", true)]
    [InlineData("*", "anything/at/all", true)]
    [InlineData("**", "x", true)]
    [InlineData("users_table", "users_table", true)]
    [InlineData("users_table", "users_tablex", false)]
    [InlineData("users_table", "Users_table", false)]
    [InlineData("s3://bucket/*", "s3://bucket/a/b/c", true)]
    [InlineData("s3://bucket/*", "s3://bucket2/a", false)]
    [InlineData("*.pdf", "report.pdf", true)]
    [InlineData("*.pdf", "report.pdf.exe", false)]
    [InlineData("a*b*c", "abc", true)]
    [InlineData("a*b*c", "aXXbYYc", true)]
    [InlineData("a*b*c", "aXXcYYb", false)]
    [InlineData("a*b*c", "ab", false)]
    [InlineData("a*a", "a", false)]
    [InlineData("a*a", "aa", true)]
    [InlineData("*ab*ab*", "abab", true)]
    [InlineData("*ab*ab*", "aba", false)]
    [InlineData("?", "x", true)]
    [InlineData("?", "", false)]
    [InlineData("?", "xy", false)]
    [InlineData("report-????.pdf", "report-2026.pdf", true)]
    [InlineData("report-????.pdf", "report-26.pdf", false)]
    [InlineData("*?x", "ax", true)]
    [InlineData("*?x", "x", false)]
    [InlineData("a*?b?*c", "aXbYc", true)]
    [InlineData("a*?b?*c", "abYc", false)]
    [InlineData("*a?c*", "zzabczz", true)]
    [InlineData("*a?c*", "zzacz", false)]
    [InlineData("x*y?z", "x123y4z", true)]
    [InlineData("x*y?z", "xyyyz", true)]
    public void Globs_match_like_shell_globs(string pattern, string resource, bool expected)
    {
        var parsed = ResourcePattern.Parse(pattern);
        Assert.Equal(expected, parsed.Matches(resource));
        Assert.Equal(expected, NaiveGlob(pattern, resource));
    }

    [Fact]
    public void Agrees_with_a_reference_matcher_on_random_inputs()
    {
        var random = new Random(1234);
        const string patternAlphabet = "ab*?";
        const string textAlphabet = "ab";
        for (int i = 0; i < 5000; i++)
        {
            var pattern = RandomString(random, patternAlphabet, random.Next(1, 8));
            var text = RandomString(random, textAlphabet, random.Next(0, 10));
            Assert.True(NaiveGlob(pattern, text) == ResourcePattern.Parse(pattern).Matches(text), $"pattern '{pattern}' text '{text}'");
        }
    }

    [Fact]
    public void Agrees_with_the_reference_on_non_ascii_and_long_pieces()
    {
        var random = new Random(99);
        for (int i = 0; i < 2000; i++)
        {
            // Pieces longer than 64 characters span several words of the bit-parallel search.
            var pattern = "*" + RandomString(random, "a\u00e9?", random.Next(60, 140)) + "*" + RandomString(random, "a\u00e9", random.Next(0, 3));
            var text = RandomString(random, "a\u00e9", random.Next(0, 300));
            Assert.True(NaiveGlob(pattern, text) == ResourcePattern.Parse(pattern).Matches(text), $"case {i}");
        }

        var piece = new string('a', 64) + "\u00e9" + new string('?', 64) + "b";
        var glob = ResourcePattern.Parse("x*" + piece + "*y");
        Assert.True(glob.Matches("x" + "zz" + new string('a', 64) + "\u00e9" + new string('q', 64) + "b" + "y"));
        Assert.False(glob.Matches("x" + "zz" + new string('a', 64) + "e" + new string('q', 64) + "b" + "y"));
    }

    [Fact]
    public void Hostile_patterns_finish_and_answer_correctly()
    {
        // Each of these takes exponential time in a backtracking matcher.
        var text = new string('a', ResourcePattern.MaxResourceLength);
        var manyStars = ResourcePattern.Parse(string.Concat(Enumerable.Repeat("a*", 120)) + "b");
        Assert.False(manyStars.Matches(text));
        Assert.True(manyStars.Matches(text[..^1] + "b"));

        var questionStars = ResourcePattern.Parse(string.Concat(Enumerable.Repeat("*?", 120)) + "b");
        Assert.False(questionStars.Matches(text));

        var longPiece = ResourcePattern.Parse("*" + new string('a', 200) + "b*");
        Assert.False(longPiece.Matches(text));
        Assert.True(longPiece.Matches(text[..1000] + "b"));

        var longQuestionPiece = ResourcePattern.Parse("*" + new string('?', 100) + "b" + new string('a', 100) + "*");
        Assert.False(longQuestionPiece.Matches(text));
    }

    [Fact]
    public void Overlong_resources_never_match()
    {
        var any = ResourcePattern.Parse("*");
        Assert.True(any.Matches(new string('x', ResourcePattern.MaxResourceLength)));
        Assert.False(any.Matches(new string('x', ResourcePattern.MaxResourceLength + 1)));
        Assert.False(any.Matches((string?)null));
    }

    [Theory]
    [InlineData("")]
    [InlineData("a\u0000b")]
    [InlineData("line\nbreak")]
    public void Invalid_patterns_are_refused(string pattern)
    {
        var ex = Assert.Throws<CapabilityFormatException>(() => ResourcePattern.Parse(pattern));
        Assert.Equal("aim_capability_malformed", ex.Code);
        Assert.False(ResourcePattern.TryParse(pattern, out _));
    }

    [Fact]
    public void Overlong_pattern_is_refused()
    {
        Assert.Throws<CapabilityFormatException>(() => ResourcePattern.Parse(new string('*', ResourcePattern.MaxPatternLength + 1)));
        Assert.NotNull(ResourcePattern.Parse(new string('*', ResourcePattern.MaxPatternLength)));
    }

    [Fact]
    public void Pattern_flags()
    {
        Assert.True(ResourcePattern.Parse("*").MatchesEverything);
        Assert.True(ResourcePattern.Parse("***").MatchesEverything);
        Assert.False(ResourcePattern.Parse("a*").MatchesEverything);
        Assert.True(ResourcePattern.Parse("users").IsExact);
        Assert.False(ResourcePattern.Parse("user?").IsExact);
    }

    private static string RandomString(Random random, string alphabet, int length) =>
        new(Enumerable.Range(0, length).Select(_ => alphabet[random.Next(alphabet.Length)]).ToArray());

    // Reference: dynamic programming over (pattern position, text position); slow but obviously right.
    private static bool NaiveGlob(string pattern, string text)
    {
        var dp = new bool[pattern.Length + 1, text.Length + 1];
        dp[0, 0] = true;
        for (int p = 1; p <= pattern.Length; p++)
        {
            dp[p, 0] = dp[p - 1, 0] && pattern[p - 1] == '*';
            for (int t = 1; t <= text.Length; t++)
            {
                dp[p, t] = pattern[p - 1] switch
                {
                    '*' => dp[p - 1, t] || dp[p, t - 1],
                    '?' => dp[p - 1, t - 1],
                    var c => dp[p - 1, t - 1] && text[t - 1] == c,
                };
            }
        }

        return dp[pattern.Length, text.Length];
    }
}
