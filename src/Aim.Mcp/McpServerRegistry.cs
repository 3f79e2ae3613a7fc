using System.Buffers.Text;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Aim.Crypto;
using Aim.Engine;
using Aim.Identity;
using Microsoft.Extensions.Http.Resilience;
using Polly;

namespace Aim.Mcp;

/// <summary>
/// MCP server identity with an Aim server: register a server's Ed25519 key (<c>POST /api/v1/mcp-servers</c>), attest
/// it by signing the one-time challenge the registration returned (<c>POST /api/v1/mcp-servers/{id}/attest</c>, proof of
/// possession), list the organization's servers, and check that the identity a server presents
/// (<c>_meta.aip_server_identity</c>, see <see cref="AimCallToolFilter.ServerIdentityMetaKey"/>) belongs to an attested
/// server. Uses an API key with the <c>registrar</c> (or <c>admin</c>) role to register and attest, and any of
/// <c>registrar</c>, <c>auditor</c>, <c>approver</c> to list. Requests go through a Microsoft.Extensions.Http.Resilience
/// pipeline: reads (GET) are retried on transient failures (connection errors, 408, 429, 5xx, a timed-out attempt) with
/// jittered exponential backoff; registration and attestation (POST) are sent once, since a lost answer may hide a
/// change the server made. When the pipeline gives up the call fails with <c>aim_unavailable</c> or the server's error.
/// Thread-safe.
/// </summary>
public sealed class McpServerRegistry : IDisposable
{
    private const string Collection = "api/v1/mcp-servers";
    private readonly HttpClient _http;

    /// <summary>Creates a registry client for an Aim server.</summary>
    /// <param name="server">The Aim server's base URL, for example <c>https://aim.example.com/</c>.</param>
    /// <param name="apiKey">An organization API key (sent as <c>Authorization: Bearer</c>).</param>
    /// <param name="handler">The HTTP handler to use (tests, proxies); the registry disposes it.</param>
    /// <param name="timeout">The longest one call may take, retries included (default 30 s); an attempt gets a third of it.</param>
    /// <param name="maxRetries">Retries of a transient failure of a read (default 2; 0 disables retrying).</param>
    /// <param name="retryDelay">The first retry's median delay, doubling per retry with jitter (default 500 ms).</param>
    /// <exception cref="ArgumentException">The URL is not absolute http(s) or the key is empty.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The timeout or delay is not positive, or the retry count is negative.</exception>
    public McpServerRegistry(Uri server, string apiKey, HttpMessageHandler? handler = null, TimeSpan? timeout = null, int maxRetries = 2, TimeSpan? retryDelay = null)
    {
        ArgumentNullException.ThrowIfNull(server);
        ArgumentException.ThrowIfNullOrWhiteSpace(apiKey);
        if (!server.IsAbsoluteUri || server.Scheme is not ("http" or "https"))
        {
            throw new ArgumentException("The Aim server URL must be an absolute http(s) URL.", nameof(server));
        }

        var total = timeout ?? TimeSpan.FromSeconds(30);
        var delay = retryDelay ?? TimeSpan.FromMilliseconds(500);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(total, TimeSpan.Zero, nameof(timeout));
        ArgumentOutOfRangeException.ThrowIfNegative(maxRetries);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(delay, TimeSpan.Zero, nameof(retryDelay));
        var resilience = new ResilienceHandler(Pipeline(total, maxRetries, delay)) { InnerHandler = handler ?? new SocketsHttpHandler() };
        _http = new HttpClient(resilience, disposeHandler: true)
        {
            BaseAddress = new Uri(server.AbsoluteUri.TrimEnd('/') + "/"),
            Timeout = Timeout.InfiniteTimeSpan, // the pipeline's overall timeout bounds every call
        };
        _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
    }

    /// <summary>Registers a server's public key (not yet trusted: attest it next).</summary>
    /// <param name="name">A display name (at most 100 characters).</param>
    /// <param name="url">Where the server is reached: an absolute <c>http</c>, <c>https</c> or <c>stdio</c> URI.</param>
    /// <param name="publicKey">The server's 32-byte Ed25519 public key (its Aim agent key when it runs Aim).</param>
    /// <param name="cancellationToken">Stops waiting for the Aim server.</param>
    /// <returns>The registration, with the <see cref="McpServerRegistration.Challenge"/> to sign.</returns>
    /// <exception cref="ArgumentException">The key is not 32 bytes, or a string is empty.</exception>
    /// <exception cref="McpServerRegistryException">The server refused (its error code, e.g. <c>invalid_request</c>,
    /// <c>role_forbidden</c>, <c>api_key_invalid</c>) or could not be reached (<c>aim_unavailable</c>).</exception>
    public async Task<McpServerRegistration> RegisterAsync(string name, string url, ReadOnlyMemory<byte> publicKey, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentException.ThrowIfNullOrWhiteSpace(url);
        if (publicKey.Length != Ed25519.PublicKeySize)
        {
            throw new ArgumentException("An Ed25519 public key is 32 bytes.", nameof(publicKey));
        }

        var body = new JsonObject { ["name"] = name, ["url"] = url, ["public_key"] = Base64Url.EncodeToString(publicKey.Span) };
        return McpServerRegistration.FromJson(await SendAsync(HttpMethod.Post, Collection, body, cancellationToken).ConfigureAwait(false));
    }

    /// <summary>Attests a registration: signs its challenge with <paramref name="key"/>, proving possession of the registered key.</summary>
    /// <returns>The registration, now attested.</returns>
    /// <exception cref="ArgumentException"><paramref name="key"/> is not the registered key, or the registration has no challenge (already attested).</exception>
    /// <exception cref="McpServerRegistryException">The server refused (<c>attestation_invalid</c>, <c>not_found</c>, …) or could not be reached.</exception>
    public async Task<McpServerRegistration> AttestAsync(McpServerRegistration registration, Ed25519KeyPair key, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(registration);
        ArgumentNullException.ThrowIfNull(key);
        if (!key.PublicKey.SequenceEqual(registration.PublicKey))
        {
            throw new ArgumentException("The key is not the one registered for this server.", nameof(key));
        }

        if (registration.Challenge is not { } challenge)
        {
            throw new ArgumentException("The registration has no challenge to sign (it is already attested).", nameof(registration));
        }

        var body = new JsonObject { ["signature"] = Base64Url.EncodeToString(key.Sign(challenge)) };
        string path = $"{Collection}/{Uri.EscapeDataString(registration.Id)}/attest";
        return McpServerRegistration.FromJson(await SendAsync(HttpMethod.Post, path, body, cancellationToken).ConfigureAwait(false));
    }

    /// <summary>Registers <paramref name="key"/>'s public half and attests it in one go.</summary>
    /// <returns>The attested registration.</returns>
    /// <exception cref="ArgumentException">A string is empty.</exception>
    /// <exception cref="McpServerRegistryException">As for <see cref="RegisterAsync"/> and <see cref="AttestAsync"/>.</exception>
    public async Task<McpServerRegistration> RegisterAndAttestAsync(string name, string url, Ed25519KeyPair key, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        var registration = await RegisterAsync(name, url, key.PublicKey.ToArray(), cancellationToken).ConfigureAwait(false);
        return await AttestAsync(registration, key, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Registers and attests the identity an Aim-protected MCP server presents: the agent key of its embedded engine
    /// (the key behind <c>_meta.aip_server_identity</c>, which also signs its audit log), read from the engine's key store.
    /// </summary>
    /// <exception cref="AimConfigurationException">The runtime's engine is not an <see cref="EmbeddedEngine"/> (a remote
    /// engine's key is registered on its Aim server as an agent already; pass that key to the other overload).</exception>
    /// <exception cref="McpServerRegistryException">As for <see cref="RegisterAsync"/> and <see cref="AttestAsync"/>.</exception>
    public async Task<McpServerRegistration> RegisterAndAttestAsync(string name, string url, AimRuntime runtime, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(runtime);
        if (runtime.Engine is not EmbeddedEngine engine)
        {
            throw new AimConfigurationException("Only an embedded engine's key can be attested from here; pass the server's key pair instead.");
        }

        using AgentKey key = engine.KeyStore.Load(engine.Agent.Name);
        return await RegisterAndAttestAsync(name, url, key.KeyPair, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The organization's registered MCP servers (attested or not).</summary>
    /// <exception cref="McpServerRegistryException">The server refused or could not be reached.</exception>
    public async Task<IReadOnlyList<McpServerRegistration>> ListAsync(CancellationToken cancellationToken = default)
    {
        var json = await SendAsync(HttpMethod.Get, Collection, null, cancellationToken).ConfigureAwait(false);
        if (json["items"] is not JsonArray items)
        {
            throw McpServerRegistryException.BadAnswer("the list has no 'items' array");
        }

        return [.. items.Select(McpServerRegistration.FromJson)];
    }

    /// <summary>
    /// The attested registration whose key is <paramref name="aipServerIdentity"/> (an <c>aip:key:ed25519:z…</c> id, as a
    /// server presents in <c>_meta.aip_server_identity</c>), or null when no attested server has that key. A client uses it
    /// to accept results only from servers its organization attested.
    /// </summary>
    /// <exception cref="McpServerRegistryException">The server refused or could not be reached.</exception>
    public async Task<McpServerRegistration?> FindAttestedAsync(string? aipServerIdentity, CancellationToken cancellationToken = default)
    {
        if (string.IsNullOrEmpty(aipServerIdentity) || !AgentIdentity.TryPublicKeyFromAipId(aipServerIdentity, out var key))
        {
            return null;
        }

        foreach (var registration in await ListAsync(cancellationToken).ConfigureAwait(false))
        {
            if (registration.Attested && registration.PublicKey.AsSpan().SequenceEqual(key))
            {
                return registration;
            }
        }

        return null;
    }

    /// <inheritdoc />
    public void Dispose() => _http.Dispose();

    /// <summary>Overall timeout, retries of transient read failures, then a timeout per attempt.</summary>
    private static ResiliencePipeline<HttpResponseMessage> Pipeline(TimeSpan total, int maxRetries, TimeSpan delay)
    {
        var builder = new ResiliencePipelineBuilder<HttpResponseMessage>()
            .AddTimeout(new HttpTimeoutStrategyOptions { Timeout = total });
        if (maxRetries > 0)
        {
            var retry = new HttpRetryStrategyOptions
            {
                MaxRetryAttempts = maxRetries,
                Delay = delay,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
            };
            retry.DisableForUnsafeHttpMethods();
            builder.AddRetry(retry);
        }

        return builder.AddTimeout(new HttpTimeoutStrategyOptions { Timeout = total / 3 }).Build();
    }

    private async Task<JsonObject> SendAsync(HttpMethod method, string path, JsonObject? body, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            request.Content = JsonContent.Create(body);
        }

        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or ExecutionRejectedException && !cancellationToken.IsCancellationRequested)
        {
            // ExecutionRejectedException: the pipeline gave up (an attempt or the whole call timed out).
            throw new McpServerRegistryException("aim_unavailable", "The Aim server could not be reached: " + ex.Message, 0, ex);
        }

        using (response)
        {
            JsonNode? json;
            try
            {
                json = await response.Content.ReadFromJsonAsync<JsonNode>(cancellationToken).ConfigureAwait(false);
            }
            catch (JsonException ex) when (!response.IsSuccessStatusCode)
            {
                // A refusal without Aim's error body (a proxy's page, an empty 503): still a typed error.
                int status = (int)response.StatusCode;
                bool transient = status is 408 or 429 or >= 500;
                throw new McpServerRegistryException(transient ? "aim_unavailable" : "http_" + status, $"The Aim server answered {status} {response.ReasonPhrase}.", status, ex);
            }
            catch (JsonException ex)
            {
                throw McpServerRegistryException.BadAnswer($"{(int)response.StatusCode} with a body that is not JSON", ex);
            }

            if (!response.IsSuccessStatusCode)
            {
                string code = json?["error"]?["code"] is JsonValue c && c.TryGetValue(out string? s) ? s : "http_" + (int)response.StatusCode;
                string message = json?["error"]?["message"] is JsonValue m && m.TryGetValue(out string? t) ? t : response.ReasonPhrase ?? "refused";
                throw new McpServerRegistryException(code, message, (int)response.StatusCode);
            }

            return json as JsonObject ?? throw McpServerRegistryException.BadAnswer("the answer is not a JSON object");
        }
    }
}

/// <summary>An MCP server as the Aim server records it.</summary>
/// <param name="Id">The registration id.</param>
/// <param name="Name">The display name.</param>
/// <param name="Url">Where the server is reached.</param>
/// <param name="PublicKey">The registered Ed25519 public key.</param>
/// <param name="Attested">Whether possession of the key was proven (only attested servers are trusted).</param>
/// <param name="AttestedAt">When it was attested.</param>
/// <param name="Challenge">The bytes to sign to attest it; null once attested.</param>
/// <param name="Created">When it was registered.</param>
public sealed record McpServerRegistration(string Id, string Name, string Url, byte[] PublicKey, bool Attested, DateTimeOffset? AttestedAt, byte[]? Challenge, DateTimeOffset Created)
{
    /// <summary>The key as an AIP identifier (<c>aip:key:ed25519:z…</c>), comparable with <c>_meta.aip_server_identity</c>.</summary>
    public string AipId => AgentIdentity.AipIdOf(PublicKey);

    /// <exception cref="McpServerRegistryException">A member is missing or malformed.</exception>
    internal static McpServerRegistration FromJson(JsonNode? node)
    {
        try
        {
            var o = node as JsonObject ?? throw new FormatException("not an object");
            byte[] key = Base64Url.DecodeFromChars(Text(o, "public_key")!);
            if (key.Length != Ed25519.PublicKeySize)
            {
                throw new FormatException("public_key is not 32 bytes");
            }

            return new McpServerRegistration(
                Text(o, "id")!, Text(o, "name")!, Text(o, "url")!, key,
                o["attested"]?.GetValue<bool>() ?? false,
                Time(o, "attested_at"),
                Text(o, "challenge", optional: true) is { } challenge ? Base64Url.DecodeFromChars(challenge) : null,
                Time(o, "created") ?? throw new FormatException("created is missing"));
        }
        catch (Exception ex) when (ex is FormatException or InvalidOperationException or JsonException)
        {
            throw McpServerRegistryException.BadAnswer("an MCP server entry is malformed: " + ex.Message, ex);
        }
    }

    private static string? Text(JsonObject o, string name, bool optional = false) =>
        o[name] is JsonValue v && v.TryGetValue(out string? s) ? s : optional ? null : throw new FormatException($"{name} is missing");

    private static DateTimeOffset? Time(JsonObject o, string name) => o[name] switch
    {
        null => null,
        JsonValue v when v.TryGetValue(out string? s) => DateTimeOffset.Parse(s, System.Globalization.CultureInfo.InvariantCulture),
        JsonValue v when v.TryGetValue(out long seconds) => DateTimeOffset.FromUnixTimeSeconds(seconds),
        _ => throw new FormatException($"{name} is not a time"),
    };
}

/// <summary>The Aim server refused an MCP registry request, or could not be reached.</summary>
public sealed class McpServerRegistryException : AimException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="code">The server's error code (e.g. <c>attestation_invalid</c>), <c>aim_unavailable</c> when unreachable,
    /// or <c>aim_registry_bad_answer</c> when the answer cannot be read.</param>
    /// <param name="message">What went wrong.</param>
    /// <param name="status">The HTTP status (0 when there was no answer).</param>
    /// <param name="inner">The cause.</param>
    public McpServerRegistryException(string code, string message, int status, Exception? inner = null)
        : base(code, message, inner)
    {
        Status = status;
    }

    /// <summary>The HTTP status of the refusal; 0 when the server could not be reached.</summary>
    public int Status { get; }

    internal static McpServerRegistryException BadAnswer(string what, Exception? inner = null) =>
        new("aim_registry_bad_answer", "The Aim server's answer cannot be read: " + what + ".", 0, inner);
}
