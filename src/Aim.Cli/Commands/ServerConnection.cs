using System.CommandLine;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Aim.Cli.Commands;

/// <summary>The <c>--server</c> and <c>--api-key-file</c> options of the server admin commands, and the HTTP calls they make.</summary>
internal sealed class ServerConnection : IDisposable
{
    private readonly HttpClient _http;

    private ServerConnection(Uri server, string apiKey)
    {
        _http = new HttpClient { BaseAddress = server, Timeout = TimeSpan.FromSeconds(30) };
        _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
    }

    public static Option<string> ServerOption() => new("--server") { Description = "The Aim server, for example http://127.0.0.1:8080.", Required = true };

    public static Option<FileInfo> ApiKeyFileOption() => new("--api-key-file") { Description = "A file holding the API key (for example <data>/admin.key).", Required = true };

    /// <exception cref="AimConfigurationException">The URL is not absolute http(s) or the key file is missing or empty.</exception>
    public static ServerConnection Open(string serverText, FileInfo keyFile)
    {
        if (!Uri.TryCreate(serverText, UriKind.Absolute, out var server) || (server.Scheme != Uri.UriSchemeHttp && server.Scheme != Uri.UriSchemeHttps))
        {
            throw new AimConfigurationException($"--server must be an absolute http(s) URL, got '{serverText}'.");
        }

        if (!keyFile.Exists)
        {
            throw new AimConfigurationException($"The API key file {keyFile.FullName} does not exist.");
        }

        string key = File.ReadAllText(keyFile.FullName).Trim();
        if (key.Length == 0 || key.Any(char.IsControl))
        {
            throw new AimConfigurationException($"The API key file {keyFile.FullName} is empty or malformed.");
        }

        var baseUri = server.AbsoluteUri.EndsWith('/') ? server : new Uri(server.AbsoluteUri + "/");
        return new ServerConnection(baseUri, key);
    }

    public JsonNode Get(string path) => Send(HttpMethod.Get, path, null);

    public JsonNode Post(string path, object? body = null) => Send(HttpMethod.Post, path, body ?? new { });

    public JsonNode Delete(string path) => Send(HttpMethod.Delete, path, null);

    public JsonNode Put(string path, object body) => Send(HttpMethod.Put, path, body);

    public string GetText(string path)
    {
        using var response = SendRaw(HttpMethod.Get, path, null);
        string text = response.Content.ReadAsStringAsync().GetAwaiter().GetResult();
        ThrowIfError(response, text);
        return text;
    }

    /// <exception cref="AimException">The server refused (its stable error code) or could not be reached (<c>aim_unavailable</c>).</exception>
    private JsonNode Send(HttpMethod method, string path, object? body)
    {
        using var response = SendRaw(method, path, body);
        string text = response.Content.ReadAsStringAsync().GetAwaiter().GetResult();
        ThrowIfError(response, text);
        try
        {
            return JsonNode.Parse(text) ?? new JsonObject();
        }
        catch (JsonException ex)
        {
            throw new AimUnavailableException("The server's answer is not JSON.", ex);
        }
    }

    private HttpResponseMessage SendRaw(HttpMethod method, string path, object? body)
    {
        using var message = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            message.Content = new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json");
        }

        try
        {
            return _http.SendAsync(message).GetAwaiter().GetResult();
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            throw new AimUnavailableException($"The Aim server at {_http.BaseAddress} could not be reached: {ex.Message}", ex);
        }
    }

    private static void ThrowIfError(HttpResponseMessage response, string text)
    {
        if (response.IsSuccessStatusCode)
        {
            return;
        }

        string code = "http_" + (int)response.StatusCode;
        string message = response.ReasonPhrase ?? "error";
        try
        {
            if (JsonNode.Parse(text)?["error"] is JsonObject error)
            {
                code = error["code"]?.GetValue<string>() ?? code;
                message = error["message"]?.GetValue<string>() ?? message;
            }
        }
        catch (JsonException)
        {
        }

        throw new AimException(code, message);
    }

    public static string Escape(string segment) => Uri.EscapeDataString(segment);

    public static void PrintJson(JsonNode node) => Console.WriteLine(node.ToJsonString(Cli.Json));

    public void Dispose() => _http.Dispose();
}
