namespace Aim.Policy;

/// <summary>
/// A policy (file or builder input) is malformed: invalid JSON, an unknown or duplicate field, a wrong
/// type, or an invalid grant, window, limit or budget. The message names the file and the JSON path.
/// </summary>
public sealed class PolicyFormatException : AimException
{
    /// <summary>The stable error code.</summary>
    public const string ErrorCode = "aim_policy_malformed";

    /// <summary>Creates the exception.</summary>
    /// <param name="source">The file (or other source name) of the policy, when known.</param>
    /// <param name="jsonPath">Where in the document, for example <c>$.agents["support-agent"].grants[1]</c>.</param>
    /// <param name="problem">What is wrong.</param>
    /// <param name="inner">The underlying error.</param>
    public PolicyFormatException(string? source, string? jsonPath, string problem, Exception? inner = null)
        : base(ErrorCode, Compose(source, jsonPath, problem), inner)
    {
        FilePath = source;
        JsonPath = jsonPath;
    }

    /// <summary>The policy file (or other source name) concerned, when known.</summary>
    public string? FilePath { get; }

    /// <summary>The JSON path of the offending element.</summary>
    public string? JsonPath { get; }

    private static string Compose(string? source, string? jsonPath, string problem) =>
        (source, jsonPath) switch
        {
            (not null, not null) => $"Policy {source} is malformed at {jsonPath}: {problem}",
            (not null, null) => $"Policy {source} is malformed: {problem}",
            (null, not null) => $"Policy is malformed at {jsonPath}: {problem}",
            _ => $"Policy is malformed: {problem}",
        };
}
