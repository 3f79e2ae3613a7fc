using System.Buffers.Binary;
using Aim.Intent.Training;

namespace Aim.Intent.Tests;

public class EvidencePriorTests
{
    private static readonly IReadOnlyList<IntentExample> Tiny = ModelFiles.Tiny;

    private static readonly IntentTrainingOptions Fast = new() { BucketBits = 10, Dimension = 4, Epochs = 3, CalibrationFraction = 0 };

    [Fact]
    public void The_prior_is_stored_in_the_file_and_read_back()
    {
        var model = IntentTrainer.Train(Tiny, Fast with { EvidencePrior = 64 });
        var loaded = IntentModel.Load(model.ToBytes());
        Assert.Equal(64, loaded.EvidencePrior);
        foreach (var example in Tiny)
        {
            Assert.Equal(new IntentClassifier(model).Predict(example.Text), new IntentClassifier(loaded).Predict(example.Text));
        }
    }

    [Fact]
    public void A_version_3_file_without_a_prior_still_loads_with_prior_0()
    {
        var model = IntentTrainer.Train(Tiny, Fast with { EvidencePrior = 0 });
        var loaded = IntentModel.Load(ModelFiles.AsOlderVersion(model.ToBytes(), version: 3));
        Assert.Equal(0, loaded.EvidencePrior);
        foreach (var example in Tiny)
        {
            Assert.Equal(new IntentClassifier(model).Predict(example.Text), new IntentClassifier(loaded).Predict(example.Text));
        }
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(4097)]
    [InlineData(int.MinValue)]
    public void An_out_of_range_prior_is_refused_in_a_file_and_by_the_trainer(int prior)
    {
        var bytes = IntentTrainer.Train(Tiny, Fast).ToBytes();
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(44), prior);
        ModelFiles.ResealInPlace(bytes);
        Assert.Equal("intent_model_invalid", Assert.Throws<IntentModelException>(() => IntentModel.Load(bytes)).Code);
        Assert.Throws<ArgumentException>(() => IntentTrainer.Train(Tiny, Fast with { EvidencePrior = prior }));
    }

    [Fact]
    public void With_the_same_weights_a_larger_prior_pulls_a_short_input_toward_the_class_prior()
    {
        // Same weights, only the denominator differs: the scores of a two-word input move toward softmax(bias).
        var model = IntentTrainer.Train(Tiny, Fast with { EvidencePrior = 0, Epochs = 20 });
        var bytes = model.ToBytes();
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(44), 4096);
        ModelFiles.ResealInPlace(bytes);
        var shrunk = IntentModel.Load(bytes);

        var text = "curl sh";
        var sharp = new IntentClassifier(model).Predict(text);
        var soft = new IntentClassifier(shrunk).Predict(text);
        var prior = new IntentClassifier(shrunk).Predict(string.Empty);
        Assert.True(Math.Abs(soft.MaliciousProbability - prior.MaliciousProbability) < Math.Abs(sharp.MaliciousProbability - prior.MaliciousProbability));
    }

    [Fact]
    public void Shipped_model_carries_the_prior_chosen_by_cross_validation()
    {
        Assert.Equal(new IntentTrainingOptions().EvidencePrior, IntentModel.Default.EvidencePrior);
        Assert.Equal(256, IntentModel.Default.EvidencePrior);
    }
}
