using System.CommandLine;
using System.Text.Encodings.Web;
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

    /// <summary>
    /// Every JSON output: snake_case member names, as the wire formats (typed values and anonymous objects alike), and
    /// no \uXXXX escapes of '+', quotes or non-ASCII text (printed for people and scripts, never embedded in HTML).
    /// </summary>
    public static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>Runs a command body, turning Aim's typed errors into a one-line message and exit code 2.</summary>
    public static int Run(Func<int> body)
    {
        try
        {
            return body();
        }
        catch (AimException ex)
        {
            Console.Error.WriteLine($"aim: {ex.Code}: {UserText(ex.Message)}");
            return Error;
        }
        catch (ArgumentException ex)
        {
            // Bad scopes, identifiers, budgets: a usage error in the caller's terms.
            Console.Error.WriteLine($"aim: invalid_argument: {UserText(ex.Message)}");
            return Error;
        }
        catch (FormatException ex)
        {
            Console.Error.WriteLine($"aim: invalid_argument: {UserText(ex.Message)}");
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
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // A failure nobody anticipated: one line, no stack trace; AIM_DEBUG=1 prints the exception for a bug report.
            Console.Error.WriteLine("aim: internal_error: the command failed unexpectedly; run it again with AIM_DEBUG=1 for details.");
            if (Environment.GetEnvironmentVariable("AIM_DEBUG") == "1")
            {
                Console.Error.WriteLine(ex);
            }

            return Error;
        }
    }

    /// <summary>
    /// A message in the user's terms: without .NET's " (Parameter 'name')" suffix, wherever it appears (an Aim error
    /// may quote an inner argument error), and without the trailing parameter text of nested messages.
    /// </summary>
    public static string UserText(string message) =>
        System.Text.RegularExpressions.Regex.Replace(message, @" ?\(Parameter '[^']*'\)", string.Empty);

    /// <summary>A parser message in the user's terms: "as expected type 'System.Int32'" becomes "as a whole number".</summary>
    public static string UsageText(string message) =>
        System.Text.RegularExpressions.Regex.Replace(message, @"as expected type '([^']+)'", m => "as " + (m.Groups[1].Value switch
        {
            "System.Int32" or "System.Int64" or "System.UInt32" or "System.UInt64" or "System.Int32?" or "System.Int64?" or "System.UInt32?" => "a whole number",
            "System.Decimal" or "System.Double" or "System.Decimal?" or "System.Double?" => "a number",
            "System.Boolean" => "true or false",
            "System.IO.FileInfo" or "System.IO.FileInfo?" => "a file path",
            _ => "a value of the right kind",
        }));

    /// <summary>
    /// The agent flag of every local command: <c>--agent</c>, with <c>--name</c> kept as an alias for scripts written
    /// before the flags were made one.
    /// </summary>
    public static Option<string> AgentOption() =>
        new("--agent", "--name") { Description = "The agent's name (--name is an older spelling).", Required = true };

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
