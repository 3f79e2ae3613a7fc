using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Aim.Crypto;

namespace Aim.Server.Tests.Compat;

/// <summary>
/// Python's <c>json.dumps(value, sort_keys=True)</c> (separators <c>", "</c> and <c>": "</c>, <c>ensure_ascii</c>), written
/// here from Python's documented behaviour, independently of the server's own reading of AIM bodies. Integers, strings,
/// booleans, null, arrays and objects (what AIM's SDK sends); other numbers keep their JSON text.
/// </summary>
internal static class PythonJson
{
    public static string Dumps(JsonNode? node)
    {
        var sb = new StringBuilder();
        Write(sb, node);
        return sb.ToString();
    }

    private static void Write(StringBuilder sb, JsonNode? node)
    {
        switch (node)
        {
            case null:
                sb.Append("null");
                break;
            case JsonObject o:
                sb.Append('{');
                bool first = true;
                foreach (var (key, value) in o.OrderBy(p => p.Key, StringComparer.Ordinal))
                {
                    sb.Append(first ? string.Empty : ", ");
                    first = false;
                    String(sb, key);
                    sb.Append(": ");
                    Write(sb, value);
                }

                sb.Append('}');
                break;
            case JsonArray a:
                sb.Append('[');
                for (int i = 0; i < a.Count; i++)
                {
                    sb.Append(i == 0 ? string.Empty : ", ");
                    Write(sb, a[i]);
                }

                sb.Append(']');
                break;
            case JsonValue v when v.TryGetValue<string>(out var s):
                String(sb, s);
                break;
            case JsonValue v when v.TryGetValue<bool>(out var b):
                sb.Append(b ? "true" : "false");
                break;
            default:
                sb.Append(node.ToJsonString());
                break;
        }
    }

    private static void String(StringBuilder sb, string s)
    {
        sb.Append('"');
        foreach (char c in s)
        {
            switch (c)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                case '\b': sb.Append("\\b"); break;
                case '\f': sb.Append("\\f"); break;
                default:
                    if (c < 0x20 || c > 0x7e)
                    {
                        sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    }
                    else
                    {
                        sb.Append(c);
                    }

                    break;
            }
        }

        sb.Append('"');
    }
}

/// <summary>
/// An agent speaking AIM's wire protocol as AIM's Python SDK 1.0.0 does (client.py): <c>X-Agent-ID</c>, <c>X-Signature</c>,
/// <c>X-Timestamp</c>, <c>X-Public-Key</c> with an Ed25519 signature over <c>METHOD\nPATH\nTIMESTAMP[\nBODY]</c>, bodies written
/// by <c>json.dumps(sort_keys=True)</c>, and the verification body's own signature. Knobs let tests forge every part.
/// </summary>
public sealed class AimSdkClient : IDisposable
{
    public const string UserAgent = "AIM-Python-SDK/1.0.0";

    private readonly HttpClient _http;
    private readonly HashSet<string> _signed = new(StringComparer.Ordinal);

    public AimSdkClient(Uri server, string agentId, Ed25519KeyPair key)
    {
        _http = new HttpClient { BaseAddress = server };
        AgentId = agentId;
        Key = key;
    }

    public string AgentId { get; set; }

    public Ed25519KeyPair Key { get; }

    public string PublicKey => Convert.ToBase64String(Key.PublicKey);

    public Func<long> Clock { get; set; } = () => DateTimeOffset.UtcNow.ToUnixTimeSeconds();

    /// <summary>The timestamp <see cref="SendBytesAsync"/> signed last.</summary>
    public long LastTimestamp { get; private set; }

    /// <summary>AIM's API-key registration (<c>_register_via_api_key</c>): the server generates the key pair.</summary>
    public static async Task<(AimSdkClient? Client, ApiResponse Response)> RegisterAsync(Uri server, string apiKey, string name, JsonObject? extra = null)
    {
        var body = new JsonObject { ["name"] = name, ["display_name"] = name, ["description"] = $"Agent {name} registered via AIM SDK", ["agent_type"] = "ai_agent" };
        foreach (var (k, v) in extra ?? [])
        {
            body[k] = v?.DeepClone();
        }

        using var http = new HttpClient { BaseAddress = server };
        using var message = new HttpRequestMessage(HttpMethod.Post, "api/v1/public/agents/register") { Content = Json(body.ToJsonString()) };
        message.Headers.TryAddWithoutValidation("X-AIM-API-Key", apiKey);
        using var response = await http.SendAsync(message);
        var r = await AdminClient.Read(response);
        if (r.Status != HttpStatusCode.Created)
        {
            return (null, r);
        }

        var key = Ed25519KeyPair.FromSecretKey(Convert.FromBase64String(r.Json["private_key"]!.GetValue<string>()));
        return (new AimSdkClient(server, r.Json["agent_id"]!.GetValue<string>(), key), r);
    }

    /// <summary>Registration of a key the agent holds: <c>public_key</c> in the body, the request signed by that key (no X-Agent-ID).</summary>
    public static async Task<(AimSdkClient? Client, ApiResponse Response)> RegisterOwnKeyAsync(Uri server, string apiKey, string name, Ed25519KeyPair key,
        Ed25519KeyPair? signer = null, bool sign = true, long? timestamp = null)
    {
        string body = PythonJson.Dumps(new JsonObject { ["name"] = name, ["agent_type"] = "ai_agent", ["public_key"] = Convert.ToBase64String(key.PublicKey) });
        using var http = new HttpClient { BaseAddress = server };
        using var message = new HttpRequestMessage(HttpMethod.Post, "api/v1/public/agents/register") { Content = Json(body) };
        message.Headers.TryAddWithoutValidation("X-AIM-API-Key", apiKey);
        if (sign)
        {
            long ts = timestamp ?? DateTimeOffset.UtcNow.ToUnixTimeSeconds();
            var by = signer ?? key;
            message.Headers.TryAddWithoutValidation("X-Public-Key", Convert.ToBase64String(key.PublicKey));
            message.Headers.TryAddWithoutValidation("X-Timestamp", ts.ToString(CultureInfo.InvariantCulture));
            message.Headers.TryAddWithoutValidation("X-Signature", Convert.ToBase64String(by.Sign(Message("POST", "/api/v1/public/agents/register", ts, body))));
        }

        using var response = await http.SendAsync(message);
        var r = await AdminClient.Read(response);
        return r.Status is HttpStatusCode.Created or HttpStatusCode.OK ? (new AimSdkClient(server, r.Json["agent_id"]!.GetValue<string>(), key), r) : (null, r);
    }

    /// <summary>What AIM's scheme signs.</summary>
    public static byte[] Message(string method, string path, long timestamp, string? body) =>
        Encoding.UTF8.GetBytes($"{method}\n{path}\n{timestamp.ToString(CultureInfo.InvariantCulture)}" + (string.IsNullOrEmpty(body) ? string.Empty : "\n" + body));

    /// <summary>The verification body <c>verify_action</c> writes, with its own signature over the sorted payload.</summary>
    public string VerificationBody(string actionType, string? resource = null, JsonObject? context = null, string? timestamp = null, Ed25519KeyPair? signer = null)
    {
        string ts = timestamp ?? DateTime.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff", CultureInfo.InvariantCulture) + "Z";
        var payload = new JsonObject { ["action_type"] = actionType, ["agent_id"] = AgentId, ["context"] = context?.DeepClone() ?? new JsonObject(), ["resource"] = resource, ["timestamp"] = ts };
        string signature = Convert.ToBase64String((signer ?? Key).Sign(Encoding.UTF8.GetBytes(PythonJson.Dumps(payload))));
        payload["signature"] = signature;
        payload["public_key"] = PublicKey;
        return PythonJson.Dumps(payload);
    }

    public Task<ApiResponse> VerifyAsync(string actionType, string? resource = null, JsonObject? context = null) =>
        SendAsync(HttpMethod.Post, "/api/v1/sdk-api/verifications", VerificationBody(actionType, resource, context));

    public Task<ApiResponse> PollAsync(string id) => SendAsync(HttpMethod.Get, $"/api/v1/sdk-api/verifications/{id}", null);

    public Task<ApiResponse> ResultAsync(string id, bool success, string? summary = null) =>
        SendAsync(HttpMethod.Post, $"/api/v1/sdk-api/verifications/{id}/result", PythonJson.Dumps(new JsonObject
        {
            ["result"] = success ? "success" : "failure",
            ["result_summary"] = summary,
            ["error_message"] = null,
            ["timestamp"] = DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture),
        }));

    /// <summary>Sends a request signed the AIM way; the knobs forge what a hostile peer would.</summary>
    public async Task<ApiResponse> SendAsync(HttpMethod method, string path, string? body, long? timestamp = null, Ed25519KeyPair? signer = null,
        Action<HttpRequestMessage>? tamper = null, string? signedBody = null, string? agentId = null, string? userAgent = UserAgent)
    {
        long ts = timestamp ?? Clock();
        var message = Message(method.Method, path, ts, signedBody ?? body);
        if (timestamp is null)
        {
            // Two identical requests in one second are one request twice (and the second a replay): tests that mean to send two
            // requests move the second to the next second, as the SDK's own polling interval does.
            while (!_signed.Add(Convert.ToBase64String(message)))
            {
                message = Message(method.Method, path, ++ts, signedBody ?? body);
            }
        }

        using var request = new HttpRequestMessage(method, path.TrimStart('/'));
        if (body is not null)
        {
            request.Content = Json(body);
        }

        request.Headers.TryAddWithoutValidation("X-Agent-ID", agentId ?? AgentId);
        request.Headers.TryAddWithoutValidation("X-Signature", Convert.ToBase64String((signer ?? Key).Sign(message)));
        request.Headers.TryAddWithoutValidation("X-Timestamp", ts.ToString(CultureInfo.InvariantCulture));
        request.Headers.TryAddWithoutValidation("X-Public-Key", PublicKey);
        if (userAgent is not null)
        {
            request.Headers.TryAddWithoutValidation("User-Agent", userAgent);
        }

        tamper?.Invoke(request);
        using var response = await _http.SendAsync(request);
        return await AdminClient.Read(response);
    }

    /// <summary>Sends raw body bytes (valid UTF-8 or not) signed the AIM way, with header values a test may replace.</summary>
    public async Task<ApiResponse> SendBytesAsync(HttpMethod method, string path, byte[] body, IReadOnlyDictionary<string, string>? replace = null)
    {
        long ts = Clock();
        LastTimestamp = ts;
        byte[] head = Encoding.UTF8.GetBytes($"{method.Method}\n{path}\n{ts.ToString(CultureInfo.InvariantCulture)}");
        byte[] message = body.Length == 0 ? head : [.. head, (byte)'\n', .. body];
        using var request = new HttpRequestMessage(method, path.TrimStart('/'));
        if (body.Length > 0)
        {
            request.Content = new ByteArrayContent(body);
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        }

        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
        {
            ["X-Agent-ID"] = AgentId, ["X-Signature"] = Convert.ToBase64String(Key.Sign(message)),
            ["X-Timestamp"] = ts.ToString(CultureInfo.InvariantCulture), ["X-Public-Key"] = PublicKey, ["User-Agent"] = UserAgent,
        };
        foreach (var (name, value) in replace ?? new Dictionary<string, string>())
        {
            headers[name] = value;
        }

        foreach (var (name, value) in headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        using var response = await _http.SendAsync(request);
        return await AdminClient.Read(response);
    }

    /// <summary>Sends a request with exactly these headers and body (a captured request sent again).</summary>
    public async Task<ApiResponse> SendRawAsync(HttpMethod method, string path, string? body, IReadOnlyDictionary<string, string> headers)
    {
        using var request = new HttpRequestMessage(method, path.TrimStart('/'));
        if (body is not null)
        {
            request.Content = Json(body);
        }

        foreach (var (name, value) in headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        using var response = await _http.SendAsync(request);
        return await AdminClient.Read(response);
    }

    private static ByteArrayContent Json(string body)
    {
        var content = new ByteArrayContent(Encoding.UTF8.GetBytes(body));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        return content;
    }

    public void Dispose() => _http.Dispose();
}
