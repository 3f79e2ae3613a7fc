using Aim.Intent.Training;

namespace Aim.Intent.Tests;

public class ModelFormatTests
{
    private static readonly IReadOnlyList<IntentExample> Tiny = ModelFiles.Tiny;

    private static readonly IntentTrainingOptions Small = new() { BucketBits = 10, Dimension = 4, Epochs = 3 };

    [Fact]
    public void Training_is_deterministic_for_a_seed_and_changes_with_it()
    {
        var a = IntentTrainer.Train(Tiny, Small).ToBytes();
        var b = IntentTrainer.Train(Tiny, Small).ToBytes();
        var c = IntentTrainer.Train(Tiny, Small with { Seed = 7 }).ToBytes();
        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
    }

    [Fact]
    public void Saved_model_loads_back_to_the_same_bytes_and_predictions()
    {
        var model = IntentTrainer.Train(Tiny, Small);
        var bytes = model.ToBytes();
        var loaded = IntentModel.Load(bytes);
        Assert.Equal(bytes, loaded.ToBytes());
        foreach (var example in Tiny)
        {
            Assert.Equal(new IntentClassifier(model).Predict(example.Text), new IntentClassifier(loaded).Predict(example.Text));
        }
    }

    [Fact]
    public void Any_flipped_byte_is_refused()
    {
        var bytes = IntentTrainer.Train(Tiny, Small).ToBytes();
        foreach (var at in new[] { 0, 9, 13, 40, bytes.Length / 2, bytes.Length - 40, bytes.Length - 1 })
        {
            var copy = (byte[])bytes.Clone();
            copy[at] ^= 0x01;
            var ex = Assert.Throws<IntentModelException>(() => IntentModel.Load(copy));
            Assert.Equal("intent_model_invalid", ex.Code);
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(10)]
    [InlineData(60)]
    public void Truncated_or_empty_bytes_are_refused(int length)
    {
        var bytes = IntentTrainer.Train(Tiny, Small).ToBytes();
        var ex = Assert.Throws<IntentModelException>(() => IntentModel.Load(bytes.AsSpan(0, Math.Min(length, bytes.Length))));
        Assert.Equal("intent_model_invalid", ex.Code);
    }

    [Fact]
    public void Random_bytes_are_refused()
    {
        var random = new Random(5);
        for (var i = 0; i < 50; i++)
        {
            var bytes = new byte[random.Next(0, 4096)];
            random.NextBytes(bytes);
            Assert.Throws<IntentModelException>(() => IntentModel.Load(bytes));
        }
    }

    [Fact]
    public void Bad_training_input_is_refused()
    {
        Assert.Throws<ArgumentException>(() => IntentTrainer.Train([], Small));
        Assert.Throws<ArgumentException>(() => IntentTrainer.Train(Tiny, Small with { Dimension = 0 }));
        Assert.Throws<ArgumentException>(() => IntentTrainer.Train(Tiny, Small with { MaxN = 2, MinN = 3 }));
        Assert.Throws<ArgumentException>(() => IntentTrainer.Train(Tiny, Small with { LearningRate = float.NaN }));
    }

    [Fact]
    public void Deterministic_exp_matches_the_library_exp_closely()
    {
        foreach (var x in new[] { 0.0, -0.1, -1, -2.5, -10, -50, -700, -800 })
        {
            var expected = Math.Exp(x);
            Assert.True(Math.Abs(IntentTrainer.DeterministicExp(x) - expected) <= expected * 1e-12 + 1e-300, $"exp({x})");
        }
    }
}
