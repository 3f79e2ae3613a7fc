namespace Aim.Biscuit.Datalog;

/// <summary>
/// Bounds on one Datalog evaluation. Defaults follow the specification: 1000 facts, 100 iterations,
/// 1 ms. When a bound is reached the evaluation stops with a <see cref="BiscuitRunLimitException"/>.
/// </summary>
public sealed record RunLimits
{
    /// <summary>The specification defaults.</summary>
    public static RunLimits Default { get; } = new();

    /// <summary>Maximum number of facts in the world (authorizer, token and generated facts).</summary>
    public int MaxFacts { get; init; } = 1000;

    /// <summary>Maximum number of rule application rounds.</summary>
    public int MaxIterations { get; init; } = 100;

    /// <summary>Maximum wall-clock time of one evaluation (fact generation).</summary>
    public TimeSpan MaxTime { get; init; } = TimeSpan.FromMilliseconds(1);
}

/// <summary>
/// A host function callable from Datalog as <c>$x.extern::name()</c> (then <paramref name="right"/> is null)
/// or <c>$x.extern::name($y)</c>. Throw any exception to fail the evaluation.
/// </summary>
public delegate Term ExternFunction(Term left, Term? right);
