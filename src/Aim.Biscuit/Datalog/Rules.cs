using System.Text;

namespace Aim.Biscuit.Datalog;

/// <summary>A predicate: a name and a list of terms, <c>name(t1, t2)</c>.</summary>
public sealed class Predicate : IEquatable<Predicate>
{
    private readonly Term[] _terms;
    private readonly int _hash;

    /// <summary>Creates a predicate.</summary>
    public Predicate(string name, IEnumerable<Term> terms) : this(name, terms.ToArray(), owned: true)
    {
    }

    private Predicate(string name, Term[] terms, bool owned)
    {
        _ = owned;
        Name = name;
        _terms = terms;
        var h = new HashCode();
        h.Add(name);
        foreach (var t in _terms) h.Add(t);
        _hash = h.ToHashCode();
    }

    /// <summary>A predicate over <paramref name="terms"/>, which the caller hands over (no copy).</summary>
    internal static Predicate Owning(string name, Term[] terms) => new(name, terms, owned: true);

    /// <summary>The predicate name.</summary>
    public string Name { get; }

    /// <summary>The terms.</summary>
    public IReadOnlyList<Term> Terms => _terms;

    internal Term[] RawTerms => _terms;

    /// <inheritdoc />
    public bool Equals(Predicate? other) =>
        other is not null && other._hash == _hash && other.Name == Name && other._terms.AsSpan().SequenceEqual(_terms);

    /// <inheritdoc />
    public override bool Equals(object? obj) => Equals(obj as Predicate);

    /// <inheritdoc />
    public override int GetHashCode() => _hash;

    /// <inheritdoc />
    public override string ToString()
    {
        var sb = new StringBuilder();
        WriteTo(sb);
        return sb.ToString();
    }

    internal void WriteTo(StringBuilder sb)
    {
        sb.Append(Name).Append('(');
        for (var i = 0; i < _terms.Length; i++)
        {
            if (i > 0) sb.Append(", ");
            _terms[i].WriteTo(sb);
        }
        sb.Append(')');
    }
}

/// <summary>A fact: a predicate without variables.</summary>
public sealed class Fact(Predicate predicate) : IEquatable<Fact>
{
    /// <summary>Creates a fact from a name and terms.</summary>
    public Fact(string name, params Term[] terms) : this(new Predicate(name, terms)) { }

    /// <summary>The predicate.</summary>
    public Predicate Predicate { get; } = predicate;

    /// <inheritdoc />
    public bool Equals(Fact? other) => other is not null && other.Predicate.Equals(Predicate);

    /// <inheritdoc />
    public override bool Equals(object? obj) => Equals(obj as Fact);

    /// <inheritdoc />
    public override int GetHashCode() => Predicate.GetHashCode();

    /// <inheritdoc />
    public override string ToString() => Predicate.ToString();
}

/// <summary>Kinds of trusted origin annotations (<c>trusting ...</c>).</summary>
public enum ScopeKind
{
    /// <summary><c>authority</c>.</summary>
    Authority,
    /// <summary><c>previous</c>.</summary>
    Previous,
    /// <summary>A public key: blocks signed by that third party.</summary>
    PublicKey,
}

/// <summary>One element of a <c>trusting</c> annotation.</summary>
public sealed record Scope(ScopeKind Kind, PublicKey? Key = null)
{
    /// <summary><c>trusting authority</c>.</summary>
    public static Scope Authority { get; } = new(ScopeKind.Authority);

    /// <summary><c>trusting previous</c>.</summary>
    public static Scope Previous { get; } = new(ScopeKind.Previous);

    /// <summary><c>trusting &lt;public key&gt;</c>.</summary>
    public static Scope Trusting(PublicKey key) => new(ScopeKind.PublicKey, key);

    /// <inheritdoc />
    public override string ToString() => Kind switch
    {
        ScopeKind.Authority => "authority",
        ScopeKind.Previous => "previous",
        _ => Key!.ToString(),
    };
}

/// <summary>A rule: <c>head &lt;- body, expressions trusting scopes</c>. Also the shape of check and policy queries.</summary>
public sealed class Rule
{
    /// <summary>Creates a rule.</summary>
    public Rule(Predicate head, IEnumerable<Predicate> body, IEnumerable<Expression> expressions, IEnumerable<Scope> scopes)
        : this(head, body.ToArray(), expressions.ToArray(), scopes.ToArray())
    {
    }

    private Rule(Predicate head, Predicate[] body, Expression[] expressions, Scope[] scopes)
    {
        Head = head;
        Body = body;
        Expressions = expressions;
        Scopes = scopes;
    }

    /// <summary>A rule over arrays the caller hands over (no copy).</summary>
    internal static Rule Owning(Predicate head, Predicate[] body, Expression[] expressions, Scope[] scopes) =>
        new(head, body, expressions, scopes);

    /// <summary>The head, produced for every match.</summary>
    public Predicate Head { get; }

    /// <summary>Predicates to match.</summary>
    public IReadOnlyList<Predicate> Body { get; }

    /// <summary>Expressions every match must satisfy.</summary>
    public IReadOnlyList<Expression> Expressions { get; }

    /// <summary>Trusted origins; empty means the block default.</summary>
    public IReadOnlyList<Scope> Scopes { get; }

    /// <summary>Head variables not bound by the body (a rule with any is invalid).</summary>
    public IEnumerable<string> UnboundHeadVariables()
    {
        var bound = new HashSet<string>();
        foreach (var p in Body) CollectVariables(p.Terms, bound);
        var head = new HashSet<string>();
        CollectVariables(Head.Terms, head);
        return head.Where(v => !bound.Contains(v));
    }

    internal static void CollectVariables(IEnumerable<Term> terms, HashSet<string> into)
    {
        foreach (var t in terms)
        {
            switch (t)
            {
                case VariableTerm v: into.Add(v.Name); break;
                case SetTerm s: CollectVariables(s.Items, into); break;
                case ArrayTerm a: CollectVariables(a.Items, into); break;
                case MapTerm m: CollectVariables(m.Entries.Select(e => e.Value), into); break;
            }
        }
    }

    /// <summary>Prints the body only (as used inside checks and policies).</summary>
    public string BodyToString()
    {
        var sb = new StringBuilder();
        WriteBody(sb);
        return sb.ToString();
    }

    internal void WriteBody(StringBuilder sb)
    {
        var first = true;
        foreach (var p in Body)
        {
            if (!first) sb.Append(", ");
            first = false;
            p.WriteTo(sb);
        }
        foreach (var e in Expressions)
        {
            if (!first) sb.Append(", ");
            first = false;
            sb.Append(e.ToString());
        }
        if (Scopes.Count > 0)
        {
            sb.Append(" trusting ");
            sb.Append(string.Join(", ", Scopes.Select(s => s.ToString())));
        }
    }

    /// <inheritdoc />
    public override string ToString()
    {
        var sb = new StringBuilder();
        Head.WriteTo(sb);
        sb.Append(" <- ");
        WriteBody(sb);
        return sb.ToString();
    }
}

/// <summary>Kinds of checks.</summary>
public enum CheckKind
{
    /// <summary><c>check if</c>: passes when one query matches.</summary>
    One = 0,
    /// <summary><c>check all</c>: passes when every match of a query satisfies its expressions.</summary>
    All = 1,
    /// <summary><c>reject if</c>: fails when a query matches.</summary>
    Reject = 2,
}

/// <summary>A check: one or more queries joined by <c>or</c>.</summary>
public sealed class Check(CheckKind kind, IEnumerable<Rule> queries)
{
    /// <summary>The kind of check.</summary>
    public CheckKind Kind { get; } = kind;

    /// <summary>The queries (heads are ignored).</summary>
    public IReadOnlyList<Rule> Queries { get; } = queries.ToArray();

    /// <inheritdoc />
    public override string ToString() =>
        Kind switch { CheckKind.All => "check all ", CheckKind.Reject => "reject if ", _ => "check if " }
        + string.Join(" or ", Queries.Select(q => q.BodyToString()));
}

/// <summary>An allow or deny policy of the authorizer.</summary>
public sealed class Policy(PolicyKind kind, IEnumerable<Rule> queries)
{
    /// <summary>Allow or deny.</summary>
    public PolicyKind Kind { get; } = kind;

    /// <summary>The queries (heads are ignored).</summary>
    public IReadOnlyList<Rule> Queries { get; } = queries.ToArray();

    /// <inheritdoc />
    public override string ToString() =>
        (Kind == PolicyKind.Allow ? "allow if " : "deny if ") + string.Join(" or ", Queries.Select(q => q.BodyToString()));
}
