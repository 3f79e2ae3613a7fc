using Aim;

// A child process for the crash test: runs one secured high-risk action whose body never returns.
// The test kills this process while the body runs and checks the audit trail it left behind.
string home = args[0];
var agent = AimAgent.Secure("crash-agent", o =>
{
    o.Home = home;
    o.Grant("user:delete");
});
var action = new ActionDescriptor("user:delete", method: "CrashAgent.DeleteEverything()");
agent.Runtime.Invoke(action, null, () =>
{
    Console.WriteLine("BODY STARTED");
    Console.Out.Flush();
    Thread.Sleep(Timeout.Infinite);
});
