using System.Buffers.Text;
using Aim.Server.AuditLog;
using Aim.Server.Storage;

namespace Aim.Server.Reports;

/// <summary>The compliance frameworks a report can be framed for.</summary>
internal enum ComplianceFramework
{
    Soc2,
    Hipaa,
    Gdpr,
}

/// <summary>Authorization checks of one agent on one capability in the period.</summary>
internal sealed record AccessRow(string Agent, string Capability, long Allowed, long Denied, long Expired, long First, long Last);

/// <summary>A human decision on a JIT approval.</summary>
internal sealed record ApprovalRow(long Time, string Agent, string Capability, string Risk, string Decision, string Approver, string? Reason);

/// <summary>A refused attempt: a denied verification or a denied action the agent itself logged.</summary>
internal sealed record DeniedRow(long Time, string Agent, string Capability, string ReasonCode, string Source);

/// <summary>A key lifecycle event: agent key rotation, API key creation or revocation.</summary>
internal sealed record KeyEventRow(long Time, string Subject, string Event, string By);

/// <summary>The log integrity proof: a signed tree head over the whole log and the result of re-verifying every entry.</summary>
internal sealed record IntegrityProof(long TreeSize, string RootHash, string LogKey, string Signature, string Timestamp, bool HeadSignatureValid, bool LogVerified, long EntriesChecked, string? FailureCode);

/// <summary>A compliance view of one organization's audit data for a period [From, To).</summary>
internal sealed record ComplianceReport(
    ComplianceFramework Framework, string Title, string OrgId, DateTimeOffset From, DateTimeOffset To, DateTimeOffset Generated,
    IReadOnlyList<(string Section, string Control)> Controls,
    IReadOnlyList<AccessRow> Access, IReadOnlyList<ApprovalRow> Approvals, IReadOnlyList<DeniedRow> Denied, IReadOnlyList<KeyEventRow> KeyEvents, IntegrityProof Integrity)
{
    public const int MaxRowsPerSection = 10_000;

    public static bool TryParseFramework(string? text, out ComplianceFramework framework)
    {
        framework = text?.ToLowerInvariant() switch
        {
            "soc2" or "soc-2" => ComplianceFramework.Soc2,
            "hipaa" => ComplianceFramework.Hipaa,
            "gdpr" => ComplianceFramework.Gdpr,
            _ => (ComplianceFramework)(-1),
        };
        return Enum.IsDefined(framework);
    }

    public static string TitleOf(ComplianceFramework f) => f switch
    {
        ComplianceFramework.Soc2 => "SOC 2 Type II evidence: AI agent access and change control",
        ComplianceFramework.Hipaa => "HIPAA Security Rule evidence: AI agent access to ePHI systems",
        _ => "GDPR accountability evidence: AI agent processing activities",
    };

    /// <summary>Which control each section gives evidence for, per framework.</summary>
    public static IReadOnlyList<(string Section, string Control)> ControlsOf(ComplianceFramework f) => f switch
    {
        ComplianceFramework.Soc2 =>
        [
            ("access_by_agent", "CC6.1 Logical access is restricted to authorized identities"),
            ("approvals", "CC6.3 Access to sensitive operations is approved by authorized personnel"),
            ("denied_attempts", "CC7.2 Anomalous and unauthorized activity is detected"),
            ("key_rotations", "CC6.1 Credentials are managed and rotated"),
            ("log_integrity", "CC7.3 / PI1 Audit evidence is complete and tamper-evident"),
        ],
        ComplianceFramework.Hipaa =>
        [
            ("access_by_agent", "164.312(a)(1) Access control"),
            ("approvals", "164.308(a)(4) Information access management"),
            ("denied_attempts", "164.308(a)(1)(ii)(D) Information system activity review"),
            ("key_rotations", "164.312(d) Person or entity authentication"),
            ("log_integrity", "164.312(b) Audit controls; 164.312(c)(1) Integrity"),
        ],
        _ =>
        [
            ("access_by_agent", "Art. 30 Records of processing activities"),
            ("approvals", "Art. 25 Data protection by design (human oversight)"),
            ("denied_attempts", "Art. 33 Detection of personal data breaches"),
            ("key_rotations", "Art. 32(1) Security of processing (credential management)"),
            ("log_integrity", "Art. 5(2) Accountability"),
        ],
    };
}

/// <summary>Builds <see cref="ComplianceReport"/>s from the server database and its audit log.</summary>
internal sealed class ComplianceReports(Database db, ServerAuditLog audit, TimeProvider time)
{
    private static readonly HashSet<string> KeyEvents = new(StringComparer.Ordinal) { "aim:agent.key_rotated", "aim:api_key.created", "aim:api_key.revoked", "aim:agent.revoke", "aim:agent.registered" };

    /// <exception cref="ApiException">The period is empty, reversed, or longer than 400 days.</exception>
    public async Task<ComplianceReport> BuildAsync(string orgId, ComplianceFramework framework, DateTimeOffset from, DateTimeOffset to, CancellationToken ct = default)
    {
        if (to <= from || to - from > TimeSpan.FromDays(400))
        {
            throw ApiException.BadRequest("invalid_period", "'to' must be after 'from', and the period at most 400 days.");
        }

        long f = from.ToUnixTimeMilliseconds(), t = to.ToUnixTimeMilliseconds();
        int limit = ComplianceReport.MaxRowsPerSection;
        var names = await db.ReadAsync(c => c.QueryAsync("SELECT id, name FROM agents WHERE org_id = @o", null, r => (r.GetString(0), r.GetString(1)), ("@o", orgId)), ct).ConfigureAwait(false);
        var agentName = names.ToDictionary(n => n.Item1, n => n.Item2, StringComparer.Ordinal);
        string Name(string? id) => id is null ? "—" : agentName.GetValueOrDefault(id, id);

        var verifications = await db.ReadAsync(c => c.QueryAsync(
            "SELECT agent_id, capability, risk, status, reason_code, decided_by, decision_reason, created, decided, expires, action_id FROM verifications WHERE org_id = @o AND created >= @f AND created < @t ORDER BY created LIMIT @l", null,
            r => (Agent: r.GetString(0), Capability: r.GetString(1), Risk: r.GetString(2), Status: r.GetString(3), ReasonCode: r.NullableString(4), DecidedBy: r.NullableString(5),
                DecisionReason: r.NullableString(6), Created: r.GetInt64(7), Decided: r.NullableInt64(8), Expires: r.GetInt64(9), ActionId: r.GetString(10)),
            ("@o", orgId), ("@f", f), ("@t", t), ("@l", (long)limit * 10)), ct).ConfigureAwait(false);

        var access = verifications
            .GroupBy(v => (v.Agent, v.Capability))
            .Select(g => new AccessRow(Name(g.Key.Agent), g.Key.Capability,
                g.LongCount(v => v.Status == DecisionStatus.Approved), g.LongCount(v => v.Status == DecisionStatus.Denied),
                g.LongCount(v => v.Status == DecisionStatus.Pending && v.Expires <= t), g.Min(v => v.Created), g.Max(v => v.Created)))
            .OrderBy(a => a.Agent, StringComparer.Ordinal).ThenBy(a => a.Capability, StringComparer.Ordinal).Take(limit).ToList();

        var approvals = verifications.Where(v => v.DecidedBy is not null && v.Decided is not null)
            .Select(v => new ApprovalRow(v.Decided!.Value, Name(v.Agent), v.Capability, v.Risk, v.Status, v.DecidedBy!, v.DecisionReason)).Take(limit).ToList();

        var denied = verifications.Where(v => v.Status == DecisionStatus.Denied)
            .Select(v => new DeniedRow(v.Decided ?? v.Created, Name(v.Agent), v.Capability, v.ReasonCode ?? "denied", "server verification")).ToList();
        var deniedActions = new HashSet<string>(verifications.Where(v => v.Status == DecisionStatus.Denied).Select(v => v.ActionId), StringComparer.Ordinal);

        var entries = await db.ReadAsync(c => c.QueryAsync(
            "SELECT idx, time, agent_id, kind, capability, decision, action_id FROM audit_entries WHERE org_id = @o AND time >= @f AND time < @t AND (decision = 'deny' OR capability LIKE 'aim:%') ORDER BY idx LIMIT @l", null,
            r => (Index: r.GetInt64(0), Time: r.GetInt64(1), Agent: r.NullableString(2), Kind: r.GetString(3), Capability: r.NullableString(4), Decision: r.NullableString(5), ActionId: r.NullableString(6)),
            ("@o", orgId), ("@f", f), ("@t", t), ("@l", (long)limit * 10)), ct).ConfigureAwait(false);
        foreach (var e in entries.Where(e => e.Decision == "deny" && e.Capability is not null && !e.Capability.StartsWith("aim:", StringComparison.Ordinal)))
        {
            if (e.ActionId is null || !deniedActions.Contains(e.ActionId))
            {
                denied.Add(new DeniedRow(e.Time, Name(e.Agent), e.Capability!, "denied_by_agent_policy", $"agent audit entry #{e.Index}"));
            }
        }

        denied = denied.OrderBy(d => d.Time).Take(limit).ToList();

        var keyEvents = new List<KeyEventRow>();
        foreach (var e in entries.Where(e => e.Capability is not null && KeyEvents.Contains(e.Capability)))
        {
            keyEvents.Add(new KeyEventRow(e.Time, Name(e.Agent), e.Capability!["aim:".Length..], "audit #" + e.Index.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        }

        var apiKeys = await db.ReadAsync(c => c.QueryAsync(
            "SELECT id, name, role, created, revoked FROM api_keys WHERE org_id = @o AND ((created >= @f AND created < @t) OR (revoked >= @f AND revoked < @t))", null,
            r => (Id: r.GetString(0), Name: r.GetString(1), Role: r.GetString(2), Created: r.GetInt64(3), Revoked: r.NullableInt64(4)), ("@o", orgId), ("@f", f), ("@t", t)), ct).ConfigureAwait(false);
        foreach (var k in apiKeys)
        {
            if (k.Created >= f && k.Created < t)
            {
                keyEvents.Add(new KeyEventRow(k.Created, $"API key {k.Name} ({k.Id})", $"api_key.issued ({k.Role})", "api_keys table"));
            }

            if (k.Revoked is { } rv && rv >= f && rv < t)
            {
                keyEvents.Add(new KeyEventRow(rv, $"API key {k.Name} ({k.Id})", "api_key.revoked (key record)", "api_keys table"));
            }
        }

        keyEvents = keyEvents.OrderBy(k => k.Time).Take(limit).ToList();

        var head = await audit.TreeHeadAsync(orgId, ct).ConfigureAwait(false);
        var verification = await audit.VerifyAsync(orgId, ct).ConfigureAwait(false);
        var integrity = new IntegrityProof(head.TreeSize, Base64Url.EncodeToString(head.RootHash), Base64Url.EncodeToString(head.LogPublicKey), Base64Url.EncodeToString(head.Signature),
            head.Timestamp.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture),
            head.VerifySignature() && head.LogPublicKey.AsSpan().SequenceEqual(audit.LogPublicKey), verification.IsValid, verification.EntriesChecked, verification.ReasonCode);

        return new ComplianceReport(framework, ComplianceReport.TitleOf(framework), orgId, from, to, time.GetUtcNow(), ComplianceReport.ControlsOf(framework),
            access, approvals, denied, keyEvents, integrity);
    }
}
