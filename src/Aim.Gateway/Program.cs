using Aim;
using Aim.Gateway;

// dotnet run --project src/Aim.Gateway -- --config gateway.json
int index = Array.IndexOf(args, "--config");
if (index < 0 || index + 1 >= args.Length)
{
    Console.Error.WriteLine("usage: aim-gateway --config <gateway.json>   (from a clone: dotnet run --project src/Aim.Gateway -- --config <gateway.json>)");
    return 2;
}

try
{
    var config = GatewayConfig.Load(args[index + 1]);
    await using var app = GatewayHost.Build(config);
    await app.RunAsync();
    return 0;
}
catch (AimConfigurationException ex)
{
    Console.Error.WriteLine("aim-gateway: " + ex.Message);
    return 1;
}
