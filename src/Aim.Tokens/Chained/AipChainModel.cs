using Aim.Biscuit.Datalog;
using BiscuitBlock = Aim.Biscuit.Block;
using BiscuitPublicKey = Aim.Biscuit.PublicKey;
using BiscuitToken = Aim.Biscuit.BiscuitToken;
using T = Aim.Tokens.Chained.AipBlockTemplates;

namespace Aim.Tokens.Chained;

/// <summary>The facts of the authority block.</summary>
/// <remarks><see cref="BudgetCents"/> may be negative here; the verifier refuses that in V4 (<c>aip_budget_exceeded</c>, as the reference does).</remarks>
internal sealed record AuthorityFacts(string Identity, string? Principal, string? Subject, IReadOnlyList<string> Scopes, int MaxDepth, long? BudgetCents, DateTimeOffset ExpiresAt);

/// <summary>The facts of one delegation block, and the third-party key that signed it (null for an ordinary appended block).</summary>
internal sealed record DelegationFacts(int BlockIndex, string Delegator, string Delegate, string Context, string? Principal, IReadOnlyList<string> Scopes, long? BudgetCents, DateTimeOffset? ExpiresAt, BiscuitPublicKey? ExternalKey)
{
    /// <summary>True when the block is a third-party block (signed by a key named in the token), not an ordinary appended block.</summary>
    public bool IsAttested => ExternalKey is not null;
}

/// <summary>The facts of a completion block, and the third-party key that signed it (null for an ordinary appended block).</summary>
internal sealed record CompletionFacts(int BlockIndex, string CompletedBy, string Status, string? ResultHash, long? CostCents, long? Tokens, long? DurationMs, BiscuitPublicKey? ExternalKey)
{
    /// <summary>True when the block is a third-party block.</summary>
    public bool IsAttested => ExternalKey is not null;
}

/// <summary>
/// A chained token read block by block (no Datalog evaluation, no Datalog text): what each block says, in the strict
/// shape of the AIP draft's block templates (<see cref="AipBlockTemplates"/>). Scopes come from each block's tool check and
/// expiries from its time check, as the draft and the reference read them. Reading never trusts the token;
/// <see cref="Read"/> only checks form.
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
    /// <exception cref="AipException"><see cref="AipErrorCodes.TokenMalformed"/> unless there is exactly one <c>identity("…")</c>.</exception>
    public static string ReadIdentity(BiscuitToken token) =>
        TryReadIdentity(token) ?? throw AipException.Malformed("The authority block must hold exactly one identity(\"aip:…\") fact.");

    /// <summary>The single <c>identity("…")</c> of the authority block, or null when there is not exactly one string identity.</summary>
    public static string? TryReadIdentity(BiscuitToken token)
    {
        string? identity = null;
        var count = 0;
        foreach (var fact in token.Blocks[0].Facts)
        {
            if (string.Equals(fact.Predicate.Name, T.Identity, StringComparison.Ordinal))
            {
                count++;
                identity = fact.Predicate.Terms is [StringTerm id] ? id.Value : null;
            }
        }

        return count == 1 ? identity : null;
    }

    /// <exception cref="AipException"><see cref="AipErrorCodes.TokenMalformed"/> when a block is not in the AIP shape.</exception>
    public static AipChainModel Read(BiscuitToken token)
    {
        var blocks = token.Blocks;
        if (blocks.Count == 0)
        {
            throw AipException.Malformed("The token has no authority block.");
        }

        var authority = ReadAuthority(blocks[0]);
        var delegations = new List<DelegationFacts>(blocks.Count - 1);
        CompletionFacts? completion = null;
        for (var i = 1; i < blocks.Count; i++)
        {
            var block = blocks[i];
            if (completion is not null)
            {
                throw AipException.Malformed("No block may follow the completion block.");
            }

            if (HasFact(block, T.Delegator))
            {
                delegations.Add(ReadDelegation(block, i));
            }
            else if (HasFact(block, T.Status))
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

    private static bool HasFact(BiscuitBlock block, string name)
    {
        foreach (var fact in block.Facts)
        {
            if (string.Equals(fact.Predicate.Name, name, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    private static AuthorityFacts ReadAuthority(BiscuitBlock block)
    {
        var facts = BlockFacts.Read(block, 0, BlockKind.Authority);
        var maxDepth = facts.RequireInteger(facts.MaxDepth, T.MaxDepth);
        if (maxDepth is < 0 or > 64)
        {
            throw AipException.Malformed("max_depth must be 0 to 64.");
        }

        RequireNoRulesOrScopes(block, 0);

        // The template's two checks, in its order: the tool check, then the time check.
        if (block.Checks.Count != 2 || T.ReadToolCheck(block.Checks[0]) is not { } scopes || T.ReadTimeCheck(block.Checks[1]) is not { } expires)
        {
            throw ChecksMismatch(0);
        }

        RequireScopeCount(scopes, 0);

        // The right facts are descriptive; they must still describe the check, so no reader is misled by them.
        if (!SameSet(facts.Rights, scopes))
        {
            throw AipException.Malformed("Block 0's right facts do not match its tool check.");
        }

        return new AuthorityFacts(facts.RequireString(facts.Identity, T.Identity), facts.OptionalString(facts.Principal, T.Principal),
            facts.OptionalString(facts.Subject, T.Subject), scopes, (int)maxDepth, facts.OptionalSignedInteger(facts.Budget, T.Budget), expires);
    }

    private static DelegationFacts ReadDelegation(BiscuitBlock block, int index)
    {
        var facts = BlockFacts.Read(block, index, BlockKind.Delegation);
        RequireNoRulesOrScopes(block, index);
        if (block.Checks.Count is < 1 or > 2 || T.ReadToolCheck(block.Checks[0]) is not { } scopes)
        {
            throw ChecksMismatch(index);
        }

        RequireScopeCount(scopes, index);
        DateTimeOffset? expires = null;
        if (block.Checks.Count == 2)
        {
            expires = T.ReadTimeCheck(block.Checks[1]) ?? throw ChecksMismatch(index);
        }

        return new DelegationFacts(index, facts.RequireString(facts.Delegator, T.Delegator), facts.RequireString(facts.Delegate, T.Delegate),
            facts.RequireString(facts.Context, T.Context), facts.OptionalString(facts.Principal, T.Principal), scopes,
            facts.OptionalSignedInteger(facts.Budget, T.Budget), expires, block.ExternalKey);
    }

    private static CompletionFacts ReadCompletion(BiscuitBlock block, int index)
    {
        var facts = BlockFacts.Read(block, index, BlockKind.Completion);
        RequireNoRulesOrScopes(block, index);
        if (block.Checks.Count != 0)
        {
            throw ChecksMismatch(index);
        }

        var status = facts.RequireString(facts.Status, T.Status);
        if (string.IsNullOrWhiteSpace(status))
        {
            throw AipException.Malformed("The completion status is empty.");
        }

        facts.OptionalString(facts.Context, T.Context);
        return new CompletionFacts(index, facts.RequireString(facts.CompletedBy, T.CompletedBy), status, facts.OptionalString(facts.ResultHash, T.ResultHash),
            facts.OptionalInteger(facts.Cost, T.Cost), facts.OptionalInteger(facts.Tokens, T.Tokens), facts.OptionalInteger(facts.DurationMs, T.DurationMs),
            block.ExternalKey);
    }

    private static void RequireScopeCount(List<string> scopes, int index)
    {
        if (scopes.Count > Compact.CompactToken.MaxScopes)
        {
            throw AipException.Malformed($"Block {index} must grant 1 to {Compact.CompactToken.MaxScopes} scopes.");
        }
    }

    private static bool SameSet(List<string>? rights, List<string> scopes)
    {
        if (rights is null)
        {
            return false;
        }

        foreach (var r in rights)
        {
            if (!scopes.Contains(r, StringComparer.Ordinal))
            {
                return false;
            }
        }

        foreach (var s in scopes)
        {
            if (!rights.Contains(s, StringComparer.Ordinal))
            {
                return false;
            }
        }

        return true;
    }

    private static void RequireNoRulesOrScopes(BiscuitBlock block, int index)
    {
        if (block.Rules.Count != 0 || block.Scopes.Count != 0)
        {
            throw AipException.Malformed($"Block {index} holds rules or trust scopes, which AIP blocks never do.");
        }
    }

    // The block's checks must be exactly the canonical checks of its facts: no extra, none missing.
    private static AipException ChecksMismatch(int index) => AipException.Malformed($"Block {index}'s checks do not match its facts.");

    private enum BlockKind
    {
        Authority,
        Delegation,
        Completion,
    }

    /// <summary>
    /// One pass over a block's facts: each allowed predicate takes one term and appears at most once (<c>right</c> any
    /// number of times); any other predicate is refused. Values are typed later, by the caller that knows which are required.
    /// </summary>
    private struct BlockFacts
    {
        private const int MaxTextLength = 4096;

        private int _index;

        public List<string>? Rights;
        public Term? Identity;
        public Term? Principal;
        public Term? Subject;
        public Term? MaxDepth;
        public Term? Budget;
        public Term? Delegator;
        public Term? Delegate;
        public Term? Context;
        public Term? CompletedBy;
        public Term? Status;
        public Term? ResultHash;
        public Term? Cost;
        public Term? Tokens;
        public Term? DurationMs;

        public static BlockFacts Read(BiscuitBlock block, int index, BlockKind kind)
        {
            var facts = new BlockFacts { _index = index };
            foreach (var fact in block.Facts)
            {
                switch (kind, fact.Predicate.Name)
                {
                    case (BlockKind.Authority, T.Right):
                        var right = facts.One(fact);
                        facts.Rights ??= new List<string>(4);
                        facts.Rights.Add(right is StringTerm s && s.Value.Length <= AipScope.MaxLength ? s.Value : throw AipException.Malformed($"Block {index}: an invalid right."));
                        break;
                    case (BlockKind.Authority, T.Identity): facts.Set(ref facts.Identity, fact); break;
                    case (BlockKind.Authority or BlockKind.Delegation, T.Principal): facts.Set(ref facts.Principal, fact); break;
                    case (BlockKind.Authority, T.Subject): facts.Set(ref facts.Subject, fact); break;
                    case (BlockKind.Authority, T.MaxDepth): facts.Set(ref facts.MaxDepth, fact); break;
                    case (BlockKind.Authority or BlockKind.Delegation, T.Budget): facts.Set(ref facts.Budget, fact); break;
                    case (BlockKind.Delegation, T.Delegator): facts.Set(ref facts.Delegator, fact); break;
                    case (BlockKind.Delegation, T.Delegate): facts.Set(ref facts.Delegate, fact); break;
                    case (BlockKind.Delegation or BlockKind.Completion, T.Context): facts.Set(ref facts.Context, fact); break;
                    case (BlockKind.Completion, T.CompletedBy): facts.Set(ref facts.CompletedBy, fact); break;
                    case (BlockKind.Completion, T.Status): facts.Set(ref facts.Status, fact); break;
                    case (BlockKind.Completion, T.ResultHash): facts.Set(ref facts.ResultHash, fact); break;
                    case (BlockKind.Completion, T.Cost): facts.Set(ref facts.Cost, fact); break;
                    case (BlockKind.Completion, T.Tokens): facts.Set(ref facts.Tokens, fact); break;
                    case (BlockKind.Completion, T.DurationMs): facts.Set(ref facts.DurationMs, fact); break;
                    default: throw AipException.Malformed($"Block {index} holds an unexpected fact '{fact.Predicate.Name}'.");
                }
            }

            return facts;
        }

        public readonly string RequireString(Term? term, string name) => OptionalString(term, name) ?? throw Missing(name);

        public readonly string? OptionalString(Term? term, string name) => term switch
        {
            null => null,
            StringTerm s when s.Value.Length <= MaxTextLength => s.Value,
            _ => throw AipException.Malformed($"Block {_index}: '{name}' must be a string."),
        };

        public readonly long RequireInteger(Term? term, string name) => OptionalInteger(term, name) ?? throw Missing(name);

        public readonly long? OptionalInteger(Term? term, string name) => term switch
        {
            null => null,
            IntegerTerm i when i.Value >= 0 => i.Value,
            _ => throw AipException.Malformed($"Block {_index}: '{name}' must be a non-negative integer."),
        };

        public readonly long? OptionalSignedInteger(Term? term, string name) => term switch
        {
            null => null,
            IntegerTerm i => i.Value,
            _ => throw AipException.Malformed($"Block {_index}: '{name}' must be an integer."),
        };

        private readonly AipException Missing(string name) => AipException.Malformed($"Block {_index} must hold exactly one '{name}' fact.");

        private readonly Term One(Fact fact) =>
            fact.Predicate.Terms is [var term] ? term : throw AipException.Malformed($"Block {_index}: '{fact.Predicate.Name}' takes one term.");

        private readonly void Set(ref Term? slot, Fact fact)
        {
            var term = One(fact);
            if (slot is not null)
            {
                throw AipException.Malformed($"Block {_index} must hold at most one '{fact.Predicate.Name}' fact.");
            }

            slot = term;
        }
    }
}
