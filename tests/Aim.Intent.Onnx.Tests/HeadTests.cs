namespace Aim.Intent.Onnx.Tests;

public sealed class HeadTests(ModelFixture model) : IClassFixture<ModelFixture>
{
    private IntentHead Head(float from = 0f, float to = 1f) =>
        new(Convert.FromHexString(model.Files.Sha256), Enumerable.Range(0, 384).Select(i => (i % 7) / 10f - 0.3f).ToArray(), 0.25f, 1.5f, 0.8f, -0.5f, from, to);

    [Fact]
    public void Head_round_trips_through_its_bytes()
    {
        var head = Head(0.1f, 0.9f);
        var loaded = IntentHead.Load(head.ToBytes());
        Assert.Equal(head.ToBytes(), loaded.ToBytes());
        Assert.Equal(head.Version, loaded.Version);
        Assert.Equal(0.1f, loaded.UncertainFrom);
        Assert.Equal(0.9f, loaded.UncertainTo);
    }

    [Fact]
    public void Any_flipped_byte_or_truncation_is_refused()
    {
        var bytes = Head().ToBytes();
        foreach (var at in new[] { 0, 9, 13, 20, 50, bytes.Length / 2, bytes.Length - 1 })
        {
            var copy = (byte[])bytes.Clone();
            copy[at] ^= 0x10;
            Assert.Equal("intent_model_invalid", Assert.Throws<IntentModelException>(() => IntentHead.Load(copy)).Code);
        }

        Assert.Equal("intent_model_invalid", Assert.Throws<IntentModelException>(() => IntentHead.Load(bytes.AsSpan(0, 100))).Code);
        Assert.Equal("intent_model_invalid", Assert.Throws<IntentModelException>(() => IntentHead.Load([])).Code);
    }

    [Fact]
    public void Stacker_follows_its_weights()
    {
        var head = Head();
        // sigmoid(1.5 * 2 + 0.8 * logit(0.5) - 0.5) = sigmoid(2.5)
        Assert.Equal(1 / (1 + MathF.Exp(-2.5f)), head.Stack(2f, 0.5f), 5);
        Assert.True(head.Stack(0f, 0.99f) > head.Stack(0f, 0.2f));
        Assert.InRange(IntentHead.Logit(1f), 15.5f, 16f);     // 1 - 1e-7 in float precision
        Assert.Equal(-16f, IntentHead.Logit(0f));
    }

    [Fact]
    public void A_head_trained_on_another_embedding_model_is_refused()
    {
        var foreign = new IntentHead(new byte[32], new float[384], 0, 1, 1, 0, 0, 1);
        var ex = Assert.Throws<IntentModelException>(() => new OnnxIntentStage(new OnnxIntentStageOptions { Model = model.Files, Head = foreign }));
        Assert.Equal("intent_model_invalid", ex.Code);
    }

    [Fact]
    public void Shipped_head_is_for_the_shipped_embedding_model()
    {
        var head = IntentHead.Default;
        Assert.Equal(model.Files.Sha256, Convert.ToHexStringLower(head.EmbeddingModelSha256));
        Assert.Equal(384, head.Weights.Length);
        Assert.InRange(head.UncertainFrom, 0f, head.UncertainTo);
        Assert.True(head.HeadWeight > 0 && head.FirstStageWeight > 0, "both stages must push the same way");
    }
}
