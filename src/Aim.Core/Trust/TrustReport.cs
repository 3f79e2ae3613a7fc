namespace Aim.Trust;

/// <summary>One factor of a trust score.</summary>
/// <param name="Name">Stable factor name, one of the <see cref="LocalTrustScore"/> constants (for example <c>identity</c>).</param>
/// <param name="Weight">Its share of the score; the weights sum to 1.</param>
/// <param name="Value">How well the local state meets it, 0 to 1.</param>
/// <param name="Explanation">What was found and, when below 1, what would raise it.</param>
public sealed record TrustFactor(string Name, double Weight, double Value, string Explanation)
{
    /// <summary>This factor's contribution to the score (<see cref="Weight"/> × <see cref="Value"/>).</summary>
    public double Contribution => Weight * Value;
}

/// <summary>A trust score (0 to 1) with the factors that make it up.</summary>
/// <param name="Score">The weighted sum of the factors, 0 to 1.</param>
/// <param name="Factors">Every factor, in a stable order.</param>
public sealed record TrustReport(double Score, IReadOnlyList<TrustFactor> Factors)
{
    /// <summary>The factor with the given name.</summary>
    /// <exception cref="KeyNotFoundException">No factor has that name.</exception>
    public TrustFactor this[string name] => Factors.FirstOrDefault(f => f.Name == name) ?? throw new KeyNotFoundException($"No trust factor '{name}'.");
}
