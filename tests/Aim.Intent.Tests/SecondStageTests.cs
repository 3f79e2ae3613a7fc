using Aim.Intent.Check;

namespace Aim.Intent.Tests;

public class SecondStageTests
{
    private sealed class Stage(Func<string, float, CancellationToken, float> score, float from = 0.2f, float to = 0.9f) : IIntentSecondStage
    {
        private int calls;

        public int Calls => Volatile.Read(ref calls);

        public string Version => "stub-stage";

        public float UncertainFrom => from;

        public float UncertainTo => to;

        public float Score(string text, float firstStage, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref calls);
            return score(text, firstStage, cancellationToken);
        }
    }

    private static IntentClassifierCheck Check(float firstStage, IIntentSecondStage stage, Action<IntentCheckOptions>? configure = null)
    {
        var options = new IntentCheckOptions
        {
            Budget = TimeSpan.FromSeconds(20),
            SecondStage = stage,
            SecondStageBudget = TimeSpan.FromSeconds(20),
            Critical = new IntentThresholds(StepUpAt: 0.5f, DenyAt: 0.95f),
            High = new IntentThresholds(StepUpAt: 0.5f, DenyAt: 0.95f),
        };
        configure?.Invoke(options);
        return new IntentClassifierCheck(new CheckTests.FixedClassifier(_ => CheckTests.Flagged(firstStage)), options);
    }

    [Fact]
    public async Task Uncertain_first_stage_score_is_replaced_by_the_second_stage_and_the_details_say_so()
    {
        var stage = new Stage((_, first, _) => first > 0.5f ? 0.97f : 0.1f);

        var denied = await Check(0.6f, stage).CheckAsync(CheckTests.Request(RiskLevel.Critical), default);
        Assert.False(denied.Allowed);
        Assert.Equal("second", denied.Details!["intent_stage"]!.GetValue<string>());
        Assert.Equal(0.97, denied.Details["intent_score"]!.GetValue<double>(), 4);
        Assert.Equal(0.6, denied.Details["intent_first_stage_score"]!.GetValue<double>(), 4);
        Assert.Equal("FixedClassifier+stub-stage", denied.Details["intent_model"]!.GetValue<string>());

        var allowed = await Check(0.4f, stage).CheckAsync(CheckTests.Request(RiskLevel.High), default);
        Assert.True(allowed.Allowed);
        Assert.False(allowed.RequiresApproval);
        Assert.Equal("allow", allowed.Details!["intent_outcome"]!.GetValue<string>());
    }

    [Theory]
    [InlineData(0.1f)]
    [InlineData(0.99f)]
    public async Task Confident_first_stage_scores_never_reach_the_second_stage(float firstStage)
    {
        var stage = new Stage((_, _, _) => throw new InvalidOperationException("must not run"));
        var result = await Check(firstStage, stage).CheckAsync(CheckTests.Request(RiskLevel.Critical), default);
        Assert.Equal(0, stage.Calls);
        Assert.Equal("ngram", result.Details!["intent_stage"]!.GetValue<string>());
    }

    [Fact]
    public async Task Medium_risk_never_reaches_the_second_stage()
    {
        var stage = new Stage((_, _, _) => 1f);
        var check = Check(0.6f, stage);
        Assert.True((await check.CheckAsync(CheckTests.Request(RiskLevel.Medium), default)).Allowed);
        await check.WhenBackgroundIdleAsync();
        Assert.Equal(0, stage.Calls);
    }

    [Fact]
    public async Task Slow_second_stage_fails_closed_for_critical_and_is_cancelled()
    {
        using var cancelled = new ManualResetEventSlim();
        var stage = new Stage((_, _, token) =>
        {
            token.WaitHandle.WaitOne(TimeSpan.FromSeconds(30));
            cancelled.Set();
            return 0f;
        });
        var check = Check(0.6f, stage, o => o.SecondStageBudget = TimeSpan.FromMilliseconds(50));

        var result = await check.CheckAsync(CheckTests.Request(RiskLevel.Critical), default);

        Assert.False(result.Allowed);
        Assert.Equal("intent_unavailable", result.ReasonCode);
        Assert.Equal("second stage timed out", result.Details!["intent_error"]!.GetValue<string>());
        Assert.True(cancelled.Wait(TimeSpan.FromSeconds(20)), "the late inference is told to stop");
    }

    [Fact]
    public async Task Failing_second_stage_on_a_high_action_leaves_the_first_stage_outcome_and_alerts()
    {
        var alerts = new InMemorySecurityAlertLog();
        var stage = new Stage((_, _, _) => throw new InvalidOperationException("native library gone"));
        var options = new IntentCheckOptions
        {
            Budget = TimeSpan.FromSeconds(20),
            SecondStage = stage,
            High = new IntentThresholds(0.5f, 0.95f),
        };
        var check = new IntentClassifierCheck(new CheckTests.FixedClassifier(_ => CheckTests.Flagged(0.6f)), options, alerts);

        var result = await check.CheckAsync(CheckTests.Request(RiskLevel.High), default);

        Assert.True(result.RequiresApproval);                      // 0.6 is in the step-up band of the first stage
        Assert.Equal("ngram", result.Details!["intent_stage"]!.GetValue<string>());
        Assert.Equal("second stage failed", result.Details["intent_error"]!.GetValue<string>());
        Assert.Equal(SecurityAlertKind.IntentUnavailable, Assert.Single(alerts.Snapshot()).Kind);
    }

    [Theory]
    [InlineData(float.NaN)]
    [InlineData(-0.5f)]
    [InlineData(1.5f)]
    public async Task A_second_stage_answer_that_is_not_a_probability_fails_closed(float answer)
    {
        var result = await Check(0.6f, new Stage((_, _, _) => answer)).CheckAsync(CheckTests.Request(RiskLevel.Critical), default);
        Assert.False(result.Allowed);
        Assert.Equal("intent_unavailable", result.ReasonCode);
    }

    [Fact]
    public void A_band_outside_zero_to_one_is_refused()
    {
        var options = new IntentCheckOptions { SecondStage = new Stage((_, _, _) => 0f, from: 0.9f, to: 0.2f) };
        Assert.Throws<AimConfigurationException>(() => new IntentClassifierCheck(new CheckTests.FixedClassifier(_ => CheckTests.Flagged()), options));
    }
}
