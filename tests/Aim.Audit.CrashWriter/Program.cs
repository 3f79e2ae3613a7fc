// Usage: dotnet Aim.Audit.CrashWriter.dll <log path> [concurrent writers]
// Appends audit entries until it is killed. After an append is durably committed it prints
// "ack <index> <action id>" on stdout; the kill test holds the log to every line it read.
using Aim;
using Aim.Audit;
using Aim.Crypto;

if (args.Length < 1)
{
    Console.Error.WriteLine("usage: Aim.Audit.CrashWriter <log path> [concurrent writers]");
    return 2;
}

var writers = args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 8;
using var logKey = Ed25519KeyPair.FromSeed(Enumerable.Range(1, 32).Select(i => (byte)i).ToArray());
using var agentKey = Ed25519KeyPair.FromSeed(Enumerable.Range(100, 32).Select(i => (byte)i).ToArray());
var log = AuditLog.Open(args[0], logKey, new AuditLogOptions { TreeHeadEvery = 50 });
var output = Console.Out;
var gate = new object();
lock (gate)
{
    output.WriteLine("ready");
    output.Flush();
}

var sequence = 0L;
var tasks = Enumerable.Range(0, writers).Select(_ => Task.Run(async () =>
{
    while (true)
    {
        var n = Interlocked.Increment(ref sequence);
        var record = new AuditRecord
        {
            ActionId = $"crash-{n}",
            Kind = AuditEntryKind.Authorized,
            AgentId = "0b0e7f3e-5c55-4e7e-9a1f-2f6f3a0d1c9e",
            AgentName = "crash-writer",
            Capability = "db:write",
            Resource = "orders",
            Risk = RiskLevel.Medium,
            Decision = "allow",
            ReasonCode = "granted",
            ArgumentsDigest = "sha256:" + n.ToString("x64", System.Globalization.CultureInfo.InvariantCulture),
        };
        var index = await log.AppendAsync(record, agentKey);
        lock (gate)
        {
            output.WriteLine($"ack {index} {record.ActionId}");
            output.Flush();
        }
    }
})).ToArray();

await Task.WhenAll(tasks);
return 0;
