using Aim.Intent.Check;
using Aim.Intent.Training;

namespace Aim.Intent.Tests;

public class OutcomeReportTests
{
    private static IntentScoredExample Attack(float score, string group = "a", bool second = false) => new(group, true, score, second);

    private static IntentScoredExample Benign(float score, string group = "a", bool second = false) => new(group, false, score, second);

    [Fact]
    public void Counts_each_outcome_per_group_and_pooled()
    {
        IntentScoredExample[] examples =
        [
            Attack(0.99f), Attack(0.7f), Attack(0.1f), Benign(0.05f), Benign(0.6f),
            Attack(0.95f, "b"), Benign(0.97f, "b"), Benign(0.2f, "b"),
        ];

        var rows = IntentOutcomeReport.Count(examples, new IntentThresholds(0.5f, 0.9f));

        Assert.Equal(["a", "b", "pooled"], rows.Select(r => r.Group));
        Assert.Equal(new IntentOutcomeCounts("a", 3, 2, 1, 2, 1, 0, 0), rows[0]);
        Assert.Equal(new IntentOutcomeCounts("b", 1, 1, 1, 2, 0, 1, 0), rows[1]);
        Assert.Equal(new IntentOutcomeCounts("pooled", 4, 3, 2, 4, 1, 1, 0), rows[2]);
        Assert.Equal(0.75, rows[2].CaughtRate);
    }

    [Fact]
    public void Second_stage_scores_are_cut_with_their_own_thresholds()
    {
        IntentScoredExample[] examples = [Attack(0.6f, second: true), Benign(0.6f)];
        var rows = IntentOutcomeReport.Count(examples, new IntentThresholds(0.7f, 0.9f), new IntentThresholds(0.5f, 0.55f));
        var pooled = rows[^1];
        Assert.Equal(1, pooled.AttacksDenied);   // 0.6 >= 0.55 on the second stage's scale
        Assert.Equal(0, pooled.BenignSteppedUp); // 0.6 < 0.7 on the first stage's scale
        Assert.Equal(1, pooled.SecondStageRuns);
    }

    [Fact]
    public void Best_point_keeps_benign_denied_and_stepped_up_within_their_shares()
    {
        var random = new Random(11);
        var examples = Enumerable.Range(0, 400).Select(i => Benign((float)random.NextDouble()))
            .Concat(Enumerable.Range(0, 200).Select(i => Attack((float)Math.Sqrt(random.NextDouble())))).ToArray();

        var point = IntentOutcomeReport.BestPoint(examples, maxBenignDenied: 0.01, maxBenignSteppedUp: 0.10);
        var pooled = IntentOutcomeReport.Count(examples, point)[^1];

        Assert.True(pooled.BenignDenyRate <= 0.01, $"{pooled}");
        Assert.True(pooled.BenignStepUpRate <= 0.10, $"{pooled}");
        Assert.True(point.StepUpAt <= point.DenyAt);

        // A little lower on either cut breaks a limit: the point is the best one, not merely a safe one.
        var lowerStepUp = IntentOutcomeReport.Count(examples, point with { StepUpAt = point.StepUpAt - 0.01f })[^1];
        Assert.True(lowerStepUp.BenignStepUpRate > 0.10 || lowerStepUp.BenignSteppedUp > pooled.BenignSteppedUp);
    }

    [Fact]
    public void Frontier_lists_every_combination_of_limits()
    {
        var examples = new[] { Attack(0.9f), Benign(0.1f), Benign(0.95f) };
        var lines = IntentOutcomeReport.FrontierMarkdown(examples).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2 + (4 * 6), lines.Length);
    }
}
