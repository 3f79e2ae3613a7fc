using System.CommandLine;
using System.CommandLine.Help;
using Aim.Cli.Commands;

var root = new RootCommand("aim: cryptographic identity, authorization and a tamper-evident audit trail for AI agents. Every command honours AIM_HOME.")
{
    IdentityCommand.Create(),
    RiskCommand.Create(),
    TrustCommand.Create(),
    CapabilitiesCommand.Create(),
    IntentCommand.Create(),
    BiscuitCommand.Create(),
    TokenCommand.Create(),
    AuditCommand.Create(ServerAuditCommands.Create()),
    AgentsCommand.Create(),
    RootsCommand.Create(),
    OrgsCommand.Create(),
    ApprovalsCommand.Create(),
    ReportCommand.Create(),
};

// A group run alone (aim, aim identity) lists its subcommands, as with --help, instead of a usage error.
var groups = new Stack<Command>([root]);
while (groups.TryPop(out var group))
{
    if (group.Subcommands.Count > 0 && group.Action is null)
    {
        group.SetAction(p => new HelpAction().Invoke(p));
    }

    foreach (var sub in group.Subcommands)
    {
        groups.Push(sub);
    }
}

var parsed = root.Parse(args);
if (parsed.Errors.Count > 0)
{
    // Usage errors exit 2, so exit 1 keeps its one meaning: "checked, and the answer is no" (a tampered log, an invalid token).
    foreach (var error in parsed.Errors)
    {
        Console.Error.WriteLine($"aim: usage: {Cli.UsageText(error.Message)}");
    }

    Console.Error.WriteLine("Run 'aim --help' (or 'aim <command> --help') for usage.");
    return 2;
}

return parsed.Invoke();
