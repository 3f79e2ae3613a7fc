using System.Text.Json;

namespace Aim.Intent.Onnx.Tests;

public sealed class TokenizerTests(ModelFixture model) : IClassFixture<ModelFixture>
{
    public static TheoryData<string, long[]> Reference()
    {
        var data = new TheoryData<string, long[]>();
        foreach (var line in File.ReadLines(Path.Combine(AppContext.BaseDirectory, "Data", "wordpiece-reference.jsonl")))
        {
            using var json = JsonDocument.Parse(line);
            data.Add(json.RootElement.GetProperty("text").GetString()!, json.RootElement.GetProperty("ids").EnumerateArray().Select(e => e.GetInt64()).ToArray());
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Reference))]
    public void Token_ids_are_the_reference_bert_tokenizers(string text, long[] expected)
    {
        Assert.Equal(expected, model.Embedder.Tokenize(text));
    }

    [Fact]
    public void Reference_set_covers_the_inputs_a_space_splitter_gets_wrong()
    {
        var texts = Reference().Select(row => (string)row[0]).ToArray();
        Assert.True(texts.Length >= 25);
        Assert.Contains(texts, t => t.Contains('|'));
        Assert.Contains(texts, t => t.Contains('$'));
        Assert.Contains(texts, t => t.Contains('_'));
        Assert.Contains(texts, t => t.Contains('\u200b'));
        Assert.Contains(texts, t => t.Any(c => c >= '\u4e00' && c <= '\u9fff'));
    }

    [Fact]
    public void Long_input_is_cut_at_the_models_window_and_still_ends_with_sep()
    {
        var ids = model.Embedder.Tokenize(string.Join(' ', Enumerable.Repeat("refund the order", 400)));
        Assert.Equal(SentenceEmbedder.MaxTokens, ids.Length);
        Assert.Equal(101, ids[0]);
        Assert.Equal(102, ids[^1]);
    }

    [Fact]
    public void Vocabulary_is_the_uncased_bert_vocabulary()
    {
        var lines = System.Text.Encoding.UTF8.GetString(model.Files.Vocabulary).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.TrimEnd('\r')).ToArray();
        Assert.Equal(30522, lines.Length);
        Assert.Equal("[CLS]", lines[101]);
        Assert.Equal("[SEP]", lines[102]);
    }
}
