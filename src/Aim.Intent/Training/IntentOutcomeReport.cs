using System.Globalization;
using System.Text;
using Aim.Intent.Check;

namespace Aim.Intent.Training;

/// <summary>One scored example of an outcome evaluation.</summary>
/// <param name="Group">Where it came from (a left-out file or a held-out file).</param>
/// <param name="Malicious">Whether its true label is an attack class.</param>
/// <param name="Score">The malicious probability the step decides on.</param>
/// <param name="SecondStage">Whether the second stage produced <paramref name="Score"/>.</param>
public readonly record struct IntentScoredExample(string Group, bool Malicious, float Score, bool SecondStage = false);

/// <summary>The three-outcome figures of one group of examples under one pair of cut points.</summary>
/// <param name="Group">The group (file) or <c>pooled</c>.</param>
/// <param name="Attacks">Attack examples.</param>
/// <param name="AttacksCaught">Attacks denied or stepped up.</param>
/// <param name="AttacksDenied">Attacks denied.</param>
/// <param name="Benign">Benign examples.</param>
/// <param name="BenignSteppedUp">Benign examples stepped up (a human is asked).</param>
/// <param name="BenignDenied">Benign examples denied.</param>
/// <param name="SecondStageRuns">Examples the second stage scored.</param>
public sealed record IntentOutcomeCounts(string Group, int Attacks, int AttacksCaught, int AttacksDenied, int Benign, int BenignSteppedUp, int BenignDenied, int SecondStageRuns)
{
    /// <summary>Attacks denied or stepped up / attacks.</summary>
    public double CaughtRate => Attacks == 0 ? 1 : (double)AttacksCaught / Attacks;

    /// <summary>Benign stepped up / benign.</summary>
    public double BenignStepUpRate => Benign == 0 ? 0 : (double)BenignSteppedUp / Benign;

    /// <summary>Benign denied / benign.</summary>
    public double BenignDenyRate => Benign == 0 ? 0 : (double)BenignDenied / Benign;
}

/// <summary>
/// Evaluates the intent step's three outcomes (allow, step up, deny) on scored examples: recall of attacks denied or stepped
/// up, benign stepped up and benign denied, per group and pooled, and the frontier over cut points.
/// </summary>
public static class IntentOutcomeReport
{
    /// <summary>The figures per group (in first-seen order) and pooled (last).</summary>
    /// <param name="examples">The scored examples.</param>
    /// <param name="thresholds">The cut points of first-stage scores.</param>
    /// <param name="secondStage">The cut points of second-stage scores; <see langword="null"/> for <paramref name="thresholds"/>.</param>
    public static IReadOnlyList<IntentOutcomeCounts> Count(IReadOnlyList<IntentScoredExample> examples, IntentThresholds thresholds, IntentThresholds? secondStage = null)
    {
        ArgumentNullException.ThrowIfNull(examples);
        ArgumentNullException.ThrowIfNull(thresholds);
        var groups = examples.Select(e => e.Group).Distinct().ToList();
        var rows = groups.Select(g => Tally(g, examples.Where(e => e.Group == g), thresholds, secondStage)).ToList();
        rows.Add(Tally("pooled", examples, thresholds, secondStage));
        return rows;
    }

    /// <summary>
    /// The best cut points on <paramref name="examples"/> (pooled): the deny cut is the lowest score with benign denied at most
    /// <paramref name="maxBenignDenied"/>, the step-up cut the lowest with benign stepped up at most <paramref name="maxBenignSteppedUp"/>;
    /// cuts are chosen among the examples' own scores, rounded up to 4 decimals.
    /// </summary>
    public static IntentThresholds BestPoint(IReadOnlyList<IntentScoredExample> examples, double maxBenignDenied, double maxBenignSteppedUp)
    {
        ArgumentNullException.ThrowIfNull(examples);
        var benign = examples.Where(e => !e.Malicious).Select(e => e.Score).OrderByDescending(s => s).ToArray();
        var deny = Cut(benign, (int)Math.Floor(maxBenignDenied * benign.Length));
        var deniedBenign = benign.Count(s => s >= deny);
        var stepUp = Cut(benign, deniedBenign + (int)Math.Floor(maxBenignSteppedUp * benign.Length));
        return new IntentThresholds(Math.Min(stepUp, deny), deny);
    }

    // The lowest cut (just above a benign score) that lets at most `allowed` benign scores reach it.
    private static float Cut(float[] benignDescending, int allowed)
    {
        if (allowed >= benignDescending.Length)
        {
            return 0f;
        }

        // Every benign score at or above the cut counts; the cut sits just above the (allowed+1)-th highest score.
        var above = benignDescending[allowed];
        var cut = (float)(Math.Floor(above * 10000.0) + 1) / 10000f;
        return Math.Min(cut, 1f);
    }

    /// <summary>A Markdown table of the groups under one pair of cut points.</summary>
    public static string ToMarkdown(IReadOnlyList<IntentOutcomeCounts> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        var inv = CultureInfo.InvariantCulture;
        var text = new StringBuilder();
        text.AppendLine("| group | attacks | denied or stepped up | of which denied | benign | benign stepped up | benign denied | second stage ran |");
        text.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var r in rows)
        {
            var bold = r.Group == "pooled" ? "**" : string.Empty;
            text.AppendLine(inv, $"| {bold}{r.Group}{bold} | {r.Attacks} | {bold}{r.CaughtRate:0.000}{bold} ({r.AttacksCaught}) | {r.AttacksDenied} | {r.Benign} | {bold}{r.BenignStepUpRate:0.000}{bold} ({r.BenignSteppedUp}) | {bold}{r.BenignDenyRate:0.000}{bold} ({r.BenignDenied}) | {r.SecondStageRuns} |");
        }

        return text.ToString();
    }

    /// <summary>A Markdown frontier: for each allowed share of benign examples denied and stepped up, the best cut points (pooled) and what they give.</summary>
    public static string FrontierMarkdown(IReadOnlyList<IntentScoredExample> examples)
    {
        ArgumentNullException.ThrowIfNull(examples);
        var inv = CultureInfo.InvariantCulture;
        var text = new StringBuilder();
        text.AppendLine("| max benign denied | max benign stepped up | step up at | deny at | attacks denied or stepped up | attacks denied | benign stepped up | benign denied |");
        text.AppendLine("|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var deny in new[] { 0.0, 0.005, 0.01, 0.02 })
        {
            foreach (var stepUp in new[] { 0.02, 0.05, 0.10, 0.15, 0.20, 0.30 })
            {
                var point = BestPoint(examples, deny, stepUp);
                var pooled = Tally("pooled", examples, point);
                text.AppendLine(inv, $"| {deny:0.000} | {stepUp:0.00} | {point.StepUpAt:0.0000} | {point.DenyAt:0.0000} | {pooled.CaughtRate:0.000} ({pooled.AttacksCaught}/{pooled.Attacks}) | {(double)pooled.AttacksDenied / Math.Max(1, pooled.Attacks):0.000} | {pooled.BenignStepUpRate:0.000} | {pooled.BenignDenyRate:0.000} |");
            }
        }

        return text.ToString();
    }

    private static IntentOutcomeCounts Tally(string group, IEnumerable<IntentScoredExample> examples, IntentThresholds thresholds, IntentThresholds? secondStage = null)
    {
        int attacks = 0, caught = 0, attacksDenied = 0, benign = 0, steppedUp = 0, denied = 0, second = 0;
        foreach (var e in examples)
        {
            var outcome = (e.SecondStage ? secondStage ?? thresholds : thresholds).Decide(e.Score);
            second += e.SecondStage ? 1 : 0;
            if (e.Malicious)
            {
                attacks++;
                caught += outcome == IntentOutcome.Allow ? 0 : 1;
                attacksDenied += outcome == IntentOutcome.Deny ? 1 : 0;
            }
            else
            {
                benign++;
                steppedUp += outcome == IntentOutcome.StepUp ? 1 : 0;
                denied += outcome == IntentOutcome.Deny ? 1 : 0;
            }
        }

        return new IntentOutcomeCounts(group, attacks, caught, attacksDenied, benign, steppedUp, denied, second);
    }
}
