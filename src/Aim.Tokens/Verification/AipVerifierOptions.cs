using Aim.Tokens.Identity;
using Aim.Tokens.Revocation;

namespace Aim.Tokens.Verification;

/// <summary>Settings of an <see cref="AipVerifier"/>. Defaults follow the AIP drafts.</summary>
public sealed class AipVerifierOptions
{
    /// <summary>The roots whose tokens are accepted (V2), and pinned <c>aip:web</c> keys. Required: an empty store accepts nothing.</summary>
    public IAipTrustStore TrustStore { get; set; } = new InMemoryTrustStore();

    /// <summary>How identifiers resolve to keys; default: <c>aip:key</c> by itself, <c>aip:web</c> from pinned keys only.</summary>
    public IAipIdentityResolver? Resolver { get; set; }

    /// <summary>Revocation list for V7; null skips V7 (no list configured).</summary>
    public IRevocationSource? Revocation { get; set; }

    /// <summary>A revocation snapshot older than this is refused (fail closed). Default five minutes.</summary>
    public TimeSpan RevocationMaxStaleness { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>The clock.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>Tolerance for clock differences on <c>iat</c> and <c>exp</c>. Default 60 seconds.</summary>
    public TimeSpan ClockSkew { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Longest lifetime (<c>exp - iat</c>) of a compact token; a longer one is refused as
    /// <see cref="AipErrorCodes.TokenMalformed"/>. Default one hour, because AIP says a compact token SHOULD live under an
    /// hour; that is a recommendation to issuers, so a verifier that must accept longer-lived tokens (the AIP reference's
    /// conformance tokens live for years) sets a longer limit, or null for none.
    /// </summary>
    public TimeSpan? MaxLifetime { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Longest token accepted, in characters (compact tokens are also capped at 8 KiB). Default 64 KiB.</summary>
    public int MaxTokenLength { get; set; } = 64 * 1024;

    /// <summary>Most delegation blocks a chain may hold, whatever its <c>max_depth</c> says. Default 16.</summary>
    public int MaxChainBlocks { get; set; } = 16;

    /// <summary>
    /// When true, every delegation and completion block of a chained token must be attested: a Biscuit third-party block
    /// signed by the agent it names (<see cref="Chained.AipBlockForm.Attested"/>); an ordinary appended block is refused
    /// with <see cref="AipErrorCodes.SignatureInvalid"/>. Default false: both forms are accepted, appended blocks being
    /// what AIP specifies. Every V1-V7 rule is enforced on both forms either way; attestation adds proof of who delegated.
    /// </summary>
    public bool RequireAttestation { get; set; }

    /// <summary>
    /// Whether a chained token's signature checks may share the work with a thread-pool worker (Aim.Biscuit's
    /// <see cref="Aim.Biscuit.VerificationConcurrency"/>; default <see cref="Aim.Biscuit.VerificationConcurrency.Auto"/>:
    /// concurrent on a multi-core machine). Concurrency lowers the latency of one verification, not its CPU cost; a server
    /// saturated with requests may prefer <see cref="Aim.Biscuit.VerificationConcurrency.SingleThreaded"/>.
    /// </summary>
    public Aim.Biscuit.VerificationConcurrency ChainVerificationConcurrency { get; set; } = Aim.Biscuit.VerificationConcurrency.Auto;

    /// <summary>How many verified tokens are remembered (re-verifying a seen token skips the signature work). 0 disables. Default 10,000.</summary>
    public int CacheCapacity { get; set; } = 10_000;

    /// <summary>The Datalog policy profile for chained tokens (V6). Default <see cref="AipPolicyProfile.Standard"/>.</summary>
    public AipPolicyProfile PolicyProfile { get; set; } = AipPolicyProfile.Standard;

    /// <summary>Extra Datalog (checks, rules, policies) the <see cref="AipPolicyProfile.Advanced"/> profile runs with the token.</summary>
    public string? AdvancedPolicy { get; set; }

    /// <summary>The iteration cap of the <see cref="AipPolicyProfile.Advanced"/> profile's Datalog run. Default 100.</summary>
    public int AdvancedIterationCap { get; set; } = 100;

    /// <summary>
    /// Time limit of one Datalog run (V6); a run that hits it is refused. Default one second: AIP token worlds are tiny and
    /// bounded by the fact and iteration limits, so this only guards against a stalled run; a tight limit (Biscuit's 1 ms)
    /// refuses honest tokens on a loaded machine or during the first, JIT-compiling run.
    /// </summary>
    public TimeSpan PolicyTimeLimit { get; set; } = TimeSpan.FromSeconds(1);
}

/// <summary>The three AIP policy profiles for the Datalog step (V6) of chained verification.</summary>
public enum AipPolicyProfile
{
    /// <summary>The token's own checks with ambient <c>tool</c>, <c>time</c>, <c>depth</c>; allow if they pass.</summary>
    Simple,

    /// <summary>Simple plus the verifier's policy: the tool must be one of the token's rights.</summary>
    Standard,

    /// <summary>Standard plus caller-supplied Datalog, run with a bounded number of iterations.</summary>
    Advanced,
}
