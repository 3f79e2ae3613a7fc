using System.CommandLine;
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
    AuditCommand.Create(),
};

return root.Parse(args).Invoke();
