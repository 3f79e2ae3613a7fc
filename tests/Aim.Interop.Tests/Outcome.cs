using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Aim.Biscuit;

namespace Aim.Interop.Tests;

/// <summary>
/// One comparable outcome string for both implementations: <c>allow:N</c> for an authorization that matched allow policy N,
/// <c>ok</c> for a verification or attenuation that succeeded, or the error as biscuit-rust names it
/// (<c>FailedLogic/Unauthorized/Deny:0/B1.0 check if …</c>, <c>Execution/DivideByZero</c>, <c>Format/Signature/InvalidSignature</c>, …).
/// </summary>
internal static partial class Outcome
{
    public static string Of(BiscuitException e) => e switch
    {
        BiscuitLogicException l => Logic(l.Kind.ToString(), l.Policy is { } p ? $"{p.Kind}:{p.Index}" : null,
            l.FailedChecks.Select(c => c is FailedBlockCheck b ? $"B{b.BlockId}.{b.CheckId} {b.Rule}" : $"A{c.CheckId} {c.Rule}"), l.Kind == LogicErrorKind.InvalidBlockRule ? l.BlockId : null),
        BiscuitExecutionException x => "Execution/" + x.Kind,
        BiscuitRunLimitException r => "RunLimit/" + r.Kind,
        BiscuitLanguageException => "Language",
        BiscuitFormatException f => "Format/" + f.Kind switch
        {
            FormatErrorKind.InvalidSignature => "Signature/InvalidSignature",
            FormatErrorKind.BlockSignatureDeserializationError => "BlockSignatureDeserializationError",
            var k => k.ToString(),
        },
        _ => "Other/" + e.GetType().Name,
    };

    /// <summary>Normalizes an error object of biscuit-wasm (serde JSON of biscuit-rust's <c>error::Token</c>).</summary>
    public static string Of(JsonNode error)
    {
        var obj = error.AsObject();
        if (obj["FailedLogic"] is JsonObject logic)
        {
            var (kind, body) = logic.Single();
            if (kind == "InvalidBlockRule")
            {
                return Logic(kind, null, [], (int)body!.AsArray()[0]!);
            }

            var policy = body!["policy"] is JsonObject p ? $"{p.Single().Key}:{(int)p.Single().Value!}" : null;
            var checks = body["checks"]!.AsArray().Select(c =>
            {
                var (where, detail) = c!.AsObject().Single();
                return where == "Block"
                    ? $"B{(int)detail!["block_id"]!}.{(int)detail["check_id"]!} {(string)detail["rule"]!}"
                    : $"A{(int)detail!["check_id"]!} {(string)detail["rule"]!}";
            });
            return Logic(kind, policy, checks, null);
        }

        if (obj.ContainsKey("Language"))
        {
            return "Language";
        }

        var path = new StringBuilder();
        JsonNode? node = error;
        while (node is JsonObject o && o.Count == 1)
        {
            var (key, value) = o.Single();
            path.Append(path.Length == 0 ? "" : "/").Append(key);
            node = value;
        }

        if (node is JsonValue v && v.TryGetValue<string>(out var s) && Variant().IsMatch(s))
        {
            path.Append('/').Append(s);
        }

        return path.ToString();
    }

    private static string Logic(string kind, string? policy, IEnumerable<string> checks, int? block) =>
        $"FailedLogic/{kind}" + (policy is null ? "" : "/" + policy) + (block is null ? "" : "/" + block) + string.Concat(checks.Select(c => " | " + SortSets(c)));

    /// <summary>
    /// Prints the members of every set literal in a rule in ordinal order. The one known printing difference: biscuit-rust
    /// prints a set of strings in the order of the strings' symbol indices in the token (the order they were first
    /// interned), Aim.Biscuit in ordinal order. Everything else in the failed check's text must match exactly.
    /// </summary>
    internal static string SortSets(string rule)
    {
        var sb = new StringBuilder(rule.Length);
        var i = 0;
        while (i < rule.Length)
        {
            var c = rule[i];
            if (c == '"')
            {
                var end = StringEnd(rule, i);
                sb.Append(rule, i, end - i);
                i = end;
            }
            else if (c == '{' && TryReadSet(rule, i, out var items, out var next))
            {
                sb.Append('{').Append(string.Join(", ", items.Order(StringComparer.Ordinal))).Append('}');
                i = next;
            }
            else
            {
                sb.Append(c);
                i++;
            }
        }

        return sb.ToString();
    }

    private static int StringEnd(string text, int start)
    {
        var i = start + 1;
        while (i < text.Length && text[i] != '"')
        {
            i += text[i] == '\\' ? 2 : 1;
        }

        return Math.Min(i + 1, text.Length);
    }

    // A flat set literal: top-level items without ':' outside strings (a map has "key": value) and no nested braces.
    private static bool TryReadSet(string text, int start, out List<string> items, out int next)
    {
        items = [];
        next = start;
        var current = new StringBuilder();
        var depth = 0;
        for (var i = start + 1; i < text.Length; i++)
        {
            var c = text[i];
            if (c == '"')
            {
                var end = StringEnd(text, i);
                current.Append(text, i, end - i);
                i = end - 1;
                continue;
            }

            if (c is '{')
            {
                return false;
            }

            if (c is '[' or '(')
            {
                depth++;
            }
            else if (c is ']' or ')')
            {
                depth--;
            }
            else if (c == ':' && depth == 0)
            {
                return false;
            }
            else if (c == ',' && depth == 0)
            {
                items.Add(current.ToString().Trim());
                current.Clear();
                continue;
            }
            else if (c == '}' && depth == 0)
            {
                items.Add(current.ToString().Trim());
                next = i + 1;
                return true;
            }

            current.Append(c);
        }

        return false;
    }

    [GeneratedRegex("^[A-Z][A-Za-z]+$")]
    private static partial Regex Variant();
}
