namespace Aim.Intent;

/// <summary>What an action reads like. <see cref="Benign"/> is the only class that never blocks.</summary>
public enum IntentClass
{
    /// <summary>An ordinary action, including legitimate ones that look alarming (cleanups, authorized refunds).</summary>
    Benign = 0,

    /// <summary>Moving data out of its boundary: dumps to outside hosts, bulk exports to personal accounts.</summary>
    Exfiltration = 1,

    /// <summary>Prompt injection and command, SQL or template injection.</summary>
    Injection = 2,

    /// <summary>Gaining rights the agent was not given: sudo, role grants, policy edits on itself.</summary>
    PrivilegeEscalation = 3,

    /// <summary>Staying around: cron jobs, startup entries, new keys or accounts as backdoors.</summary>
    Persistence = 4,

    /// <summary>Harvesting, replaying or misusing secrets, tokens and passwords.</summary>
    CredentialAbuse = 5,

    /// <summary>Reaching other hosts or tenants from a foothold: scans, remote shells, pivoting.</summary>
    LateralMovement = 6,

    /// <summary>Deceiving people: phishing, impersonation, urgency and secrecy pressure.</summary>
    SocialEngineering = 7,

    /// <summary>Breaking an organisational rule without a technical attack: disabling audit, skipping approvals.</summary>
    PolicyViolation = 8,

    /// <summary>Hiding data or instructions in innocuous carriers: zero-width text, image metadata, encoded blobs.</summary>
    Steganography = 9,
}

/// <summary>The stable wire names of <see cref="IntentClass"/> (snake_case, as in the corpus and in audit details).</summary>
public static class IntentLabels
{
    private static readonly string[] Names =
    [
        "benign", "exfiltration", "injection", "privilege_escalation", "persistence",
        "credential_abuse", "lateral_movement", "social_engineering", "policy_violation", "steganography",
    ];

    /// <summary>The number of classes.</summary>
    public const int Count = 10;

    /// <summary>All classes in their numeric order.</summary>
    public static IReadOnlyList<string> All => Names;

    /// <summary>The wire name of a class, for example <c>privilege_escalation</c>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is not a defined class.</exception>
    public static string ToLabel(this IntentClass intent)
    {
        var index = (int)intent;
        if ((uint)index >= (uint)Names.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(intent), intent, "Not a defined intent class.");
        }

        return Names[index];
    }

    /// <summary>Parses a wire name (exact, lower case).</summary>
    /// <returns><see langword="true"/> when <paramref name="label"/> names a class.</returns>
    public static bool TryParse(string? label, out IntentClass intent)
    {
        var index = label is null ? -1 : Array.IndexOf(Names, label);
        intent = index < 0 ? IntentClass.Benign : (IntentClass)index;
        return index >= 0;
    }
}
