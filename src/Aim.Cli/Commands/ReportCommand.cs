using System.CommandLine;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;

namespace Aim.Cli.Commands;

/// <summary>
/// <c>aim report --server &lt;url&gt; --api-key-file &lt;file&gt; --framework soc2|hipaa|gdpr --from &lt;date&gt; --to &lt;date&gt;
/// --format json|csv|pdf --out &lt;file&gt;</c>: downloads a compliance report from an Aim server (auditor key).
/// Exit 0 when written, 2 on any error (the server's error code is printed).
/// </summary>
internal static class ReportCommand
{
    public static Command Create()
    {
        var server = new Option<string>("--server") { Description = "The Aim server, e.g. http://127.0.0.1:8080.", Required = true };
        var keyFile = new Option<FileInfo>("--api-key-file") { Description = "A file holding an API key with the auditor (or admin) role.", Required = true };
        var framework = new Option<string>("--framework") { Description = "soc2, hipaa or gdpr.", Required = true };
        framework.AcceptOnlyFromAmong("soc2", "hipaa", "gdpr");
        var from = new Option<string>("--from") { Description = "First day (yyyy-MM-dd) or ISO 8601 time, inclusive.", Required = true };
        var to = new Option<string>("--to") { Description = "Last day (yyyy-MM-dd, inclusive) or ISO 8601 time (exclusive).", Required = true };
        var format = new Option<string>("--format") { Description = "json, csv or pdf (default json).", DefaultValueFactory = _ => "json" };
        format.AcceptOnlyFromAmong("json", "csv", "pdf");
        var output = new Option<FileInfo>("--out") { Description = "Where to write the report.", Required = true };

        var command = new Command("report", "Download a SOC 2, HIPAA or GDPR compliance report for a period from an Aim server.")
        {
            server, keyFile, framework, from, to, format, output,
        };
        command.SetAction((p, ct) => RunAsync(p.GetRequiredValue(server), p.GetRequiredValue(keyFile), p.GetRequiredValue(framework), p.GetRequiredValue(from),
            p.GetRequiredValue(to), p.GetValue(format) ?? "json", p.GetRequiredValue(output), ct));
        return command;
    }

    internal static async Task<int> RunAsync(string serverText, FileInfo keyFile, string framework, string from, string to, string format, FileInfo output, CancellationToken ct)
    {
        try
        {
            if (!Uri.TryCreate(serverText, UriKind.Absolute, out var server) || server.Scheme is not ("http" or "https"))
            {
                throw new AimConfigurationException("--server must be an http or https URL.");
            }

            string key = ReadKey(keyFile);
            using var http = new HttpClient { BaseAddress = new Uri(server.ToString().TrimEnd('/') + "/"), Timeout = TimeSpan.FromMinutes(5) };
            string path = string.Create(CultureInfo.InvariantCulture,
                $"api/v1/reports/{Uri.EscapeDataString(framework)}?from={Uri.EscapeDataString(from)}&to={Uri.EscapeDataString(to)}&format={Uri.EscapeDataString(format)}");
            using var request = new HttpRequestMessage(HttpMethod.Get, path);
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
            HttpResponseMessage response;
            try
            {
                response = await http.SendAsync(request, ct).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
                throw new AimUnavailableException($"The Aim server at {server} could not be reached: {ex.Message}", ex);
            }

            using (response)
            {
                byte[] body = await response.Content.ReadAsByteArrayAsync(ct).ConfigureAwait(false);
                if (!response.IsSuccessStatusCode)
                {
                    var (code, message) = ErrorOf(body);
                    await Console.Error.WriteLineAsync($"aim: {code}: {message} (HTTP {(int)response.StatusCode})").ConfigureAwait(false);
                    return Cli.Error;
                }

                // Write beside the target, then move: a failed run never leaves half a report under the final name.
                string temp = output.FullName + ".partial";
                await File.WriteAllBytesAsync(temp, body, ct).ConfigureAwait(false);
                File.Move(temp, output.FullName, overwrite: true);
                Console.WriteLine($"Wrote {output.FullName} ({body.Length} bytes, {framework} {format}).");
                return Cli.Ok;
            }
        }
        catch (AimException ex)
        {
            await Console.Error.WriteLineAsync($"aim: {ex.Code}: {ex.Message}").ConfigureAwait(false);
            return Cli.Error;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            await Console.Error.WriteLineAsync($"aim: io_error: {ex.Message}").ConfigureAwait(false);
            return Cli.Error;
        }
    }

    private static string ReadKey(FileInfo file)
    {
        if (!file.Exists)
        {
            throw new AimConfigurationException($"The API key file {file.FullName} does not exist.");
        }

        if (file.Length > 4096)
        {
            throw new AimConfigurationException($"The API key file {file.FullName} is too large to hold one key.");
        }

        string key = File.ReadAllText(file.FullName).Trim();
        if (key.Length == 0 || key.Any(char.IsWhiteSpace) || key.Any(char.IsControl))
        {
            throw new AimConfigurationException($"The API key file {file.FullName} must hold exactly one key.");
        }

        return key;
    }

    private static (string Code, string Message) ErrorOf(byte[] body)
    {
        try
        {
            if (JsonNode.Parse(body)?["error"] is JsonObject e && e["code"] is JsonValue c && e["message"] is JsonValue m)
            {
                return (c.GetValue<string>(), m.GetValue<string>());
            }
        }
        catch (Exception ex) when (ex is System.Text.Json.JsonException or InvalidOperationException or FormatException)
        {
            // not JSON: fall through
        }

        return ("server_error", "The server refused the request.");
    }
}
