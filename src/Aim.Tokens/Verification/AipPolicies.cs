using Aim.Biscuit;
using Aim.Biscuit.Datalog;
using Aim.Biscuit.Parser;

namespace Aim.Tokens.Verification;

/// <summary>
/// The verifier's own Datalog for V6, parsed once: the Standard profile's check and the closing policy are shared
/// immutable values; the Advanced profile's caller-supplied text is parsed when it changes, not per verification.
/// </summary>
internal static class AipPolicies
{
    /// <summary>Standard profile: the requested tool must be named by a right of the authority (literal) or covered by a pattern.</summary>
    public static readonly Check ToolIsARight =
        DatalogParser.ParseCheck("check if tool($t), right($r), $r == $t or tool($t), right($r), $r.ends_with(\"*\")");

    /// <summary>Every profile closes with this policy: the decision rests on the checks of the token and the verifier.</summary>
    public static readonly Aim.Biscuit.Datalog.Policy AllowIfTrue = DatalogParser.ParsePolicy("allow if true");

    /// <summary>Adds parsed Advanced-profile Datalog to an authorizer (falls back to the text when it holds authorizer-level trust scopes).</summary>
    public static void AddAdvanced(Authorizer authorizer, ParsedPolicy policy)
    {
        if (policy.Source.Scopes.Count > 0)
        {
            authorizer.AddCode(policy.Text);
            return;
        }

        foreach (var fact in policy.Source.Facts)
        {
            authorizer.AddFact(fact);
        }

        foreach (var rule in policy.Source.Rules)
        {
            authorizer.AddRule(rule);
        }

        foreach (var check in policy.Source.Checks)
        {
            authorizer.AddCheck(check);
        }

        foreach (var p in policy.Source.Policies)
        {
            authorizer.AddPolicy(p);
        }
    }

    /// <summary>Datalog text and what it parsed to.</summary>
    internal sealed record ParsedPolicy(string Text, DatalogSource Source);

    /// <summary>
    /// The last parsed Advanced policy (the option may be changed between verifications; a change re-parses once).
    /// Thread-safe: the cached pair is replaced atomically. Parse errors propagate as <see cref="BiscuitException"/>.
    /// </summary>
    internal sealed class Cache
    {
        private ParsedPolicy? _last;

        public ParsedPolicy Get(string text)
        {
            var last = Volatile.Read(ref _last);
            if (last is not null && string.Equals(last.Text, text, StringComparison.Ordinal))
            {
                return last;
            }

            var parsed = new ParsedPolicy(text, DatalogParser.Parse(text, allowPolicies: true));
            Volatile.Write(ref _last, parsed);
            return parsed;
        }
    }
}
