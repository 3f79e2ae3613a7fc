using Aim.Intent.Training;

namespace Aim.Intent.Tests;

public class CorpusTests
{
    [Fact]
    public void Every_corpus_line_is_valid_and_every_class_is_covered_in_both_sets()
    {
        var training = IntentCorpus.ReadTraining(Paths.Data);
        var heldOut = IntentCorpus.ReadHeldOut(Paths.Data);
        foreach (var intent in Enum.GetValues<IntentClass>())
        {
            Assert.Contains(training, e => e.Label == intent);
            Assert.Contains(heldOut, e => e.Label == intent);
        }
    }

    [Fact]
    public void Held_out_examples_do_not_appear_in_the_training_files()
    {
        var training = IntentCorpus.ReadTraining(Paths.Data).Select(e => e.Input).ToHashSet(StringComparer.OrdinalIgnoreCase);
        Assert.DoesNotContain(IntentCorpus.ReadHeldOut(Paths.Data), e => training.Contains(e.Input));
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("[1,2]")]
    [InlineData("{\"capability\":\"a\",\"resource\":\"b\",\"input\":\"c\"}")]
    [InlineData("{\"capability\":\"a\",\"resource\":\"b\",\"input\":\"c\",\"label\":\"evil\"}")]
    [InlineData("{\"capability\":\"a\",\"resource\":\"b\",\"input\":7,\"label\":\"benign\"}")]
    [InlineData("{\"capability\":\"a\",\"input\":\"c\",\"label\":\"benign\"}")]
    public void Invalid_corpus_lines_are_refused_with_a_stable_code(string line)
    {
        var ex = Assert.Throws<IntentModelException>(() => IntentCorpus.ParseLine(line, "t.jsonl:1"));
        Assert.Equal("intent_corpus_invalid", ex.Code);
        Assert.Contains("t.jsonl:1", ex.Message);
    }

    [Fact]
    public void A_directory_without_training_files_is_refused()
    {
        var dir = Directory.CreateTempSubdirectory("aim-intent-");
        try
        {
            var ex = Assert.Throws<IntentModelException>(() => IntentCorpus.ReadTraining(dir.FullName));
            Assert.Equal("intent_corpus_invalid", ex.Code);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}
