return await Aim.Server.AimServerHost.RunAsync(args);
