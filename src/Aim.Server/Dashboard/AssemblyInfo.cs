[assembly: System.Runtime.CompilerServices.InternalsVisibleTo("Aim.Server.Dashboard.Tests")]
