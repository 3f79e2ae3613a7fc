using System.Text.Json;
using Spectre.Console;

namespace Aim.Cli.Commands;

/// <summary>Shared plumbing of the commands: error handling, exit codes and output.</summary>
internal static class Cli
{
    /// <summary>Exit code of success.</summary>
    public const int Ok = 0;

    /// <summary>Exit code of a negative answer (a log that does not verify, a token that is not valid).</summary>
    public const int Negative = 1;

    /// <summary>Exit code of a usage or environment error.</summary>
    public const int Error = 2;

    public static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    /// <summary>Runs a command body, turning Aim's typed errors into a one-line message and exit code 2.</summary>
    public static int Run(Func<int> body)
    {
        try
        {
            return body();
        }
        catch (AimException ex)
        {
            Console.Error.WriteLine($"aim: {ex.Code}: {ex.Message}");
            return Error;
        }
        catch (IOException ex)
        {
            Console.Error.WriteLine($"aim: io_error: {ex.Message}");
            return Error;
        }
        catch (UnauthorizedAccessException ex)
        {
            Console.Error.WriteLine($"aim: access_denied: {ex.Message}");
            return Error;
        }
        catch (Aim.Crypto.SodiumUnavailableException ex)
        {
            Console.Error.WriteLine($"aim: {ex.Code}: {ex.Message}");
            return Error;
        }
    }

    /// <summary>The key store home: <c>--home</c>, else <c>AIM_HOME</c>, else <c>~/.aim</c>.</summary>
    public static string Home(string? option) => option ?? Aim.Identity.AgentKeyStore.DefaultHome();

    /// <summary>Table cells as plain text: no markup or emoji codes (an id such as aip:key:... must print as is).</summary>
    public static Spectre.Console.Rendering.IRenderable[] Row(params string[] cells) =>
        Array.ConvertAll(cells, static c => (Spectre.Console.Rendering.IRenderable)new Text(c));

    public static IAnsiConsole Out { get; } = CreateConsole();

    private static IAnsiConsole CreateConsole()
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(Console.Out),
            Ansi = Console.IsOutputRedirected ? AnsiSupport.No : AnsiSupport.Detect,
            ColorSystem = Console.IsOutputRedirected ? ColorSystemSupport.NoColors : ColorSystemSupport.Detect,
        });
        if (Console.IsOutputRedirected)
        {
            // Piped output has no terminal width; do not wrap ids and hashes at 80 columns.
            console.Profile.Width = 200;
        }

        return console;
    }
}
