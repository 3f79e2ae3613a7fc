using System.Buffers.Binary;
using Aim.Intent.Training;

namespace Aim.Intent.Tests;

public class WordWeightTests
{
    private static readonly IReadOnlyList<IntentExample> Tiny = ModelFiles.Tiny;

    private static readonly IntentTrainingOptions Fast = new() { BucketBits = 10, Dimension = 4, Epochs = 3, CalibrationFraction = 0 };

    [Fact]
    public void Word_weight_round_trips_through_the_model_file()
    {
        var model = IntentTrainer.Train(Tiny, Fast with { WordWeight = 3 });
        var loaded = IntentModel.Load(model.ToBytes());
        Assert.Equal(3, loaded.WordWeight);
        Assert.Equal(model.ToBytes(), loaded.ToBytes());
    }

    [Fact]
    public void The_default_training_options_weigh_words_four_times_a_character_n_gram()
    {
        Assert.Equal(4, new IntentTrainingOptions().WordWeight);
        Assert.Equal(4, IntentTrainer.Train(Tiny, Fast).WordWeight);
    }

    [Fact]
    public void Each_word_feature_is_repeated_word_weight_times_and_n_grams_are_not()
    {
        var text = "shell:exec host curl x";
        var one = IntentTrainer.Featurize(text, new FeaturizerSettings(16, 3, 5, 1));
        var four = IntentTrainer.Featurize(text, new FeaturizerSettings(16, 3, 5, 4));

        // Words: shell : exec host curl x (6 unigrams) and 5 bigrams, each counted 3 more times.
        Assert.Equal(one.Length + (3 * (6 + 5)), four.Length);
        Assert.Equal(one.ToHashSet(), four.ToHashSet());
    }

    [Fact]
    public void Word_weight_changes_the_prediction_and_the_classifier_follows_the_model()
    {
        var light = IntentTrainer.Train(Tiny, Fast with { WordWeight = 1 });
        var heavy = IntentTrainer.Train(Tiny, Fast with { WordWeight = 8 });
        Assert.NotEqual(light.ToBytes(), heavy.ToBytes());
        var text = Tiny[3].Text;
        Assert.NotEqual(new IntentClassifier(light).Predict(text).Confidence, new IntentClassifier(heavy).Predict(text).Confidence);
    }

    [Fact]
    public void A_version_2_file_without_a_word_weight_still_loads_with_weight_1()
    {
        var model = IntentTrainer.Train(Tiny, Fast with { WordWeight = 1, EvidencePrior = 0 }).WithTemperature(1.5f);
        var v2 = ModelFiles.AsOlderVersion(model.ToBytes(), version: 2);

        var loaded = IntentModel.Load(v2);
        Assert.Equal(1, loaded.WordWeight);
        Assert.Equal(1.5f, loaded.Temperature);
        foreach (var example in Tiny)
        {
            Assert.Equal(new IntentClassifier(model).Predict(example.Text), new IntentClassifier(loaded).Predict(example.Text));
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(9)]
    [InlineData(int.MaxValue)]
    public void A_file_with_an_out_of_range_word_weight_is_refused_even_with_a_valid_checksum(int weight)
    {
        var bytes = IntentTrainer.Train(Tiny, Fast).ToBytes();
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(40), weight);
        ModelFiles.ResealInPlace(bytes);
        var ex = Assert.Throws<IntentModelException>(() => IntentModel.Load(bytes));
        Assert.Equal("intent_model_invalid", ex.Code);
    }

    [Fact]
    public void A_file_with_an_unknown_version_is_refused()
    {
        var bytes = IntentTrainer.Train(Tiny, Fast).ToBytes();
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(8), 5);
        ModelFiles.ResealInPlace(bytes);
        var ex = Assert.Throws<IntentModelException>(() => IntentModel.Load(bytes));
        Assert.Equal("intent_model_invalid", ex.Code);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(9)]
    public void Out_of_range_word_weights_are_refused_by_the_trainer(int weight)
    {
        Assert.Throws<ArgumentException>(() => IntentTrainer.Train(Tiny, Fast with { WordWeight = weight }));
    }
}
