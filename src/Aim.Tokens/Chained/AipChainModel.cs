using Aim.Biscuit.Datalog;
using BiscuitBlock = Aim.Biscuit.Block;
using BiscuitToken = Aim.Biscuit.BiscuitToken;
using T = Aim.Tokens.Chained.AipBlockTemplates;

namespace Aim.Tokens.Chained;

/// <summary>The facts of the authority block.</summary>
internal sealed record AuthorityFacts(string Identity, string? Subject, IReadOnlyList<string> Scopes, int MaxDepth, long? BudgetCents, DateTimeOffset ExpiresAt, DateTimeOffset? IssuedAt);

/// <summary>The facts of one delegation block, and the key that signed it.</summary>
internal sealed record DelegationFacts(int BlockIndex, string Delegator, string Delegate, string Context, IReadOnlyList<string> Scopes, long? BudgetCents, DateTimeOffset? ExpiresAt, byte[]? ExternalKey);

/// <summary>The facts of a completion block, and the key that signed it.</summary>
internal sealed record CompletionFacts(int BlockIndex, string CompletedBy, string Status, string? ResultHash, long? CostCents, long? Tokens, long? DurationMs, byte[]? ExternalKey);

/// <summary>
/// A chained token read block by block from its own facts (no Datalog evaluation): what each block says, in the strict
/// AIP shape. Reading never trusts the token; <see cref="Read"/> only checks form.
/// </summary>
internal sealed class AipChainModel
{
    private AipChainModel(AuthorityFacts authority, IReadOnlyList<DelegationFacts> delegations, CompletionFacts? completion)
    {
        Authority = authority;
        Delegations = delegations;
        Completion = completion;
    }

    public AuthorityFacts Authority { get; }

    public IReadOnlyList<DelegationFacts> Delegations { get; }

    public CompletionFacts? Completion { get; }

    /// <summary>Reads the identity fact of the authority block only (to find the root key before verifying).</summary>
    public static string ReadIdentity(BiscuitToken token)
    {
        var facts = token.Blocks[0].Facts.Where(f => f.Predicate.Name == T.Identity).ToList();
        if (facts.Count != 1 || facts[0].Predicate.Terms is not [StringTerm id])
        {
            throw AipException.Malformed("The authority block must hold exactly one identity(\"aip:…\") fact.");
        }

        return id.Value;
    }

    /// <exception cref="AipException"><see cref="AipErrorCodes.TokenMalformed"/> when a block is not in the AIP shape.</exception>
    public static AipChainModel Read(BiscuitToken token)
    {
        if (token.Blocks.Count == 0)
        {
            throw AipException.Malformed("The token has no authority block.");
        }

        var authority = ReadAuthority(token.Blocks[0]);
        var delegations = new List<DelegationFacts>();
        CompletionFacts? completion = null;
        for (var i = 1; i < token.Blocks.Count; i++)
        {
            var block = token.Blocks[i];
            if (completion is not null)
            {
                throw AipException.Malformed("No block may follow the completion block.");
            }

            if (block.Facts.Any(f => f.Predicate.Name == T.Delegator))
            {
                delegations.Add(ReadDelegation(block, i));
            }
            else if (block.Facts.Any(f => f.Predicate.Name == T.Status))
            {
                completion = ReadCompletion(block, i);
            }
            else
            {
                throw AipException.Malformed($"Block {i} is neither a delegation nor a completion block.");
            }
        }

        return new AipChainModel(authority, delegations, completion);
    }

    private static AuthorityFacts ReadAuthority(BiscuitBlock block)
    {
        var facts = new BlockFacts(block, 0, [T.Identity, T.Subject, T.Right, T.MaxDepth, T.Budget, T.Expires, T.IssuedAt]);
        var scopes = facts.Scopes();
        var expires = facts.Date(T.Expires, required: true)!.Value;
        var maxDepth = facts.Integer(T.MaxDepth, required: true)!.Value;
        if (maxDepth is < 0 or > 64)
        {
            throw AipException.Malformed("max_depth must be 0 to 64.");
        }

        var budget = facts.Integer(T.Budget, required: false);
        RequireChecks(block, 0, [T.ToolCheck(scopes), T.TimeCheck(expires)]);
        return new AuthorityFacts(facts.String(T.Identity, required: true)!, facts.String(T.Subject, required: false), scopes, (int)maxDepth,
            budget, expires, facts.Date(T.IssuedAt, required: false));
    }

    private static DelegationFacts ReadDelegation(BiscuitBlock block, int index)
    {
        var facts = new BlockFacts(block, index, [T.Delegator, T.Delegate, T.Context, T.Right, T.Budget, T.Expires]);
        var scopes = facts.Scopes();
        var expires = facts.Date(T.Expires, required: false);
        RequireChecks(block, index, expires is { } e ? [T.ToolCheck(scopes), T.TimeCheck(e)] : [T.ToolCheck(scopes)]);
        return new DelegationFacts(index, facts.String(T.Delegator, required: true)!, facts.String(T.Delegate, required: true)!,
            facts.String(T.Context, required: true)!, scopes, facts.Integer(T.Budget, required: false), expires, block.ExternalKey?.ToBytes());
    }

    private static CompletionFacts ReadCompletion(BiscuitBlock block, int index)
    {
        var facts = new BlockFacts(block, index, [T.CompletedBy, T.Status, T.ResultHash, T.Cost, T.Tokens, T.DurationMs]);
        RequireChecks(block, index, []);
        var status = facts.String(T.Status, required: true)!;
        if (string.IsNullOrWhiteSpace(status))
        {
            throw AipException.Malformed("The completion status is empty.");
        }

        return new CompletionFacts(index, facts.String(T.CompletedBy, required: true)!, status, facts.String(T.ResultHash, required: false),
            facts.Integer(T.Cost, required: false), facts.Integer(T.Tokens, required: false), facts.Integer(T.DurationMs, required: false), block.ExternalKey?.ToBytes());
    }

    // The block's checks must be exactly the canonical checks of its facts: no extra, none missing, no rules, no scopes.
    private static void RequireChecks(BiscuitBlock block, int index, IReadOnlyList<Check> expected)
    {
        if (block.Rules.Count != 0 || block.Scopes.Count != 0)
        {
            throw AipException.Malformed($"Block {index} holds rules or trust scopes, which AIP blocks never do.");
        }

        var actual = block.Checks.Select(c => c.ToString()).ToList();
        var wanted = expected.Select(c => c.ToString()).ToList();
        if (!actual.SequenceEqual(wanted, StringComparer.Ordinal))
        {
            throw AipException.Malformed($"Block {index}'s checks do not match its facts.");
        }
    }

    private sealed class BlockFacts
    {
        private readonly Dictionary<string, List<IReadOnlyList<Term>>> _byName = new(StringComparer.Ordinal);
        private readonly int _index;

        public BlockFacts(BiscuitBlock block, int index, string[] allowed)
        {
            _index = index;
            foreach (var fact in block.Facts)
            {
                var name = fact.Predicate.Name;
                if (Array.IndexOf(allowed, name) < 0)
                {
                    throw AipException.Malformed($"Block {index} holds an unexpected fact '{name}'.");
                }

                if (fact.Predicate.Terms.Count != 1)
                {
                    throw AipException.Malformed($"Block {index}: '{name}' takes one term.");
                }

                if (!_byName.TryGetValue(name, out var list))
                {
                    _byName[name] = list = [];
                }

                list.Add(fact.Predicate.Terms);
            }
        }

        public IReadOnlyList<string> Scopes()
        {
            var scopes = All(T.Right).Select(t => t is StringTerm s && AipScope.IsValid(s.Value) ? s.Value : throw AipException.Malformed($"Block {_index}: an invalid right.")).ToList();
            if (scopes.Count is 0 or > Compact.CompactToken.MaxScopes)
            {
                throw AipException.Malformed($"Block {_index} must grant 1 to {Compact.CompactToken.MaxScopes} rights.");
            }

            return scopes;
        }

        public string? String(string name, bool required) => One(name, required) switch
        {
            null => null,
            StringTerm s when s.Value.Length <= 4096 => s.Value,
            _ => throw AipException.Malformed($"Block {_index}: '{name}' must be a string."),
        };

        public long? Integer(string name, bool required) => One(name, required) switch
        {
            null => null,
            IntegerTerm i when i.Value >= 0 => i.Value,
            _ => throw AipException.Malformed($"Block {_index}: '{name}' must be a non-negative integer."),
        };

        public DateTimeOffset? Date(string name, bool required) => One(name, required) switch
        {
            null => null,
            DateTerm d when d.Seconds <= 253402300799 => DateTimeOffset.FromUnixTimeSeconds((long)d.Seconds),
            _ => throw AipException.Malformed($"Block {_index}: '{name}' must be a date."),
        };

        private IEnumerable<Term> All(string name) => _byName.TryGetValue(name, out var list) ? list.Select(t => t[0]) : [];

        private Term? One(string name, bool required)
        {
            var all = All(name).ToList();
            if (all.Count > 1 || (required && all.Count == 0))
            {
                throw AipException.Malformed($"Block {_index} must hold {(required ? "exactly" : "at most")} one '{name}' fact.");
            }

            return all.Count == 1 ? all[0] : null;
        }
    }
}
